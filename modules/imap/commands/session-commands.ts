// Commands of any state (RFC 9051 section 6.1) and ENABLE (RFC 5161), ID (RFC 2971).
import { bad } from '../imap-error.js';
import type { Command, ImapContext } from '../context.js';
import { quotedString } from '../wire/encode.js';

// RFC 9051 section 6.1.1
export function capability(s: ImapContext, c: Command): void {
  c.args.end();
  s.send(`* CAPABILITY ${s.capabilities()}`);
}

// RFC 9051 section 6.1.2: nothing to do; the dispatcher sends what changed in the selected mailbox.
export function noop(_s: ImapContext, c: Command): void {
  c.args.end();
}

// RFC 9051 section 6.1.3
export function logout(s: ImapContext, c: Command): null {
  c.args.end();
  s.send('* BYE Logging out');
  s.logout();
  return null;
}

// RFC 2971: the client may say who it is; we say who we are. Its fields are logged (bounded).
export function id(s: ImapContext, c: Command): void {
  c.args.sp();
  const fields: Record<string, string | null> = {};
  if (c.args.peekAtom('NIL')) c.args.atom();
  else {
    let key: string | null = null;
    let count = 0;
    c.args.list(() => {
      const value = c.args.nilOrString();
      if (key === null) key = value ?? '';
      else {
        if (count++ < 30) fields[key.slice(0, 30)] = value === null ? null : value.slice(0, 1024);
        key = null;
      }
    }, 'the ID field list');
    if (key !== null) throw bad('ID fields come in pairs: name value');
  }
  c.args.end();
  if (Object.keys(fields).length > 0) s.log.info({ client: fields }, 'client identified itself');
  s.send(`* ID (${quotedString('name')} ${quotedString('Postern')} ${quotedString('vendor')} ${quotedString('Postern')})`);
}

// RFC 5161; RFC 9051 section 6.3.1: IMAP4rev2, and CONDSTORE and QRESYNC (RFC 7162 section 3.2.3:
// QRESYNC turns CONDSTORE on too), and UIDONLY (RFC 9586, uidonly.ts) change how we answer.
export function enable(s: ImapContext, c: Command): void {
  const enabled: string[] = [];
  const condstoreBefore = s.enabled.has('CONDSTORE');
  do {
    c.args.sp();
    const name = c.args.atom('an extension name');
    if (s.enable(name)) enabled.push(name);
  } while (!c.args.atEnd());
  if (s.enabled.has('QRESYNC')) s.enable('CONDSTORE');
  s.send(`* ENABLED${enabled.map((e) => ` ${e}`).join('')}`);
  if (s.state === 'selected') {
    const m = s.selected();
    m.qresync = s.enabled.has('QRESYNC');
    m.condstore = s.enabled.has('CONDSTORE');
    m.uidonly = s.enabled.has('UIDONLY');
    // turned on while a mailbox is selected: its HIGHESTMODSEQ at once (RFC 7162 section 3.1)
    if (m.condstore && !condstoreBefore) s.send(`* OK [HIGHESTMODSEQ ${m.view.highestModseq}] Highest`);
  }
}
