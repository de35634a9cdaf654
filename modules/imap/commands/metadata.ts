// METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA on the server entries (mailbox "")
// and on mailboxes; and the special use of a mailbox (RFC 6154): kept as its /private/specialuse entry, set
// by CREATE ... (USE (...)) or SETMETADATA, shown by LIST. Entries are the store's (MailStore.metadata):
// the owner's shared ones and the user's own private ones, also on another user's mailbox. No unsolicited
// METADATA responses are sent (RFC 5464 section 4.4.2 allows that: a client that wants news asks again).
import type { AccountAddress } from '../../../accounts/names.js';
import { isMetadataEntry, type MetadataScope, MetadataTooManyError } from '../../../store/contract.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { rightsOn } from '../access.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { decodeName, encodeName, type MailboxTarget, resolveName, specialUse } from '../mailbox-names.js';
import type { Cursor } from '../wire/cursor.js';
import { astring } from '../wire/encode.js';

/** The entry RFC 6154 section 4 names for a mailbox's special use. */
export const SPECIAL_USE_ENTRY = '/private/specialuse';
/** The uses a mailbox can be given: \All and \Flagged name virtual mailboxes, which Postern does not make. */
const KEPT_USES = ['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'];
const VIRTUAL_USES = ['\\All', '\\Flagged'];
/** Dovecot's own attributes (and the server entries among INBOX's), which its clients never reach either. */
const DOVECOT_PRIVATE = /^\/(private|shared)\/vendor\/vendor\.dovecot\/pvt(\/|$)/;

/**
 * An entry name as RFC 5464 section 3.2 allows it (BAD otherwise), in lower case (names are
 * case-insensitive): "/" first, no "//", no "/" last, no "*" or "%", only printable ASCII, and below
 * /private or /shared (or one of the two itself, which GETMETADATA may ask for with a DEPTH).
 */
function entryName(args: Cursor): string {
  const raw = args.astringBytes('an entry name');
  const name = raw.toString('latin1');
  const shown = quoteClient(raw, 60);
  if (!name.startsWith('/')) throw bad(`The entry name ${shown} must begin with "/"`);
  if (name.includes('//')) throw bad(`The entry name ${shown} has two "/" in a row`);
  if (name.length > 1 && name.endsWith('/')) throw bad(`The entry name ${shown} ends with "/"`);
  if (/[*%]/.test(name)) throw bad(`The entry name ${shown} has "*" or "%"`);
  if (/[^\x20-\x7e]/.test(name)) throw bad(`The entry name ${shown} has a control character or one that is not ASCII`);
  const lower = name.toLowerCase();
  if (!/^\/(private|shared)(\/|$)/.test(lower)) throw bad(`The entry name ${shown} must begin with /private or /shared`);
  return lower;
}

/** Where the entries are: the server's (mailbox "": the user's own account) or a mailbox's. */
interface Place {
  readonly scope: MetadataScope;
  /** The mailbox as the client named it in answers ("" for the server). */
  readonly wire: string;
  readonly target: MailboxTarget | null;
  /** The user's rights on the mailbox (all of them on the server entries). */
  readonly rights: string;
}

/** The mailbox argument's place, resolved once the whole command has parsed (a syntax error is BAD first). */
async function placeOf(s: ImapContext, name: string): Promise<Place> {
  const user: AccountAddress = s.user();
  if (name === '') return { scope: { owner: user, mailbox: null, user }, wire: '""', target: null, rights: 'lrw' };
  const target = resolveName(s.services.accounts, user, decodeName(name, s.rev2));
  // a mailbox the user may neither see nor read answers as one that does not exist (access.ts)
  const rights = await rightsOn(s, target);
  if (!rights.includes('l') && !rights.includes('r')) throw no('No such mailbox', 'NONEXISTENT');
  return {
    scope: { owner: target.owner, mailbox: target.mailbox, user },
    wire: astring(encodeName(target.display, s.rev2)),
    target,
    rights,
  };
}

/** The server entries the operator gives (imap.metadata.admin and comment), as Dovecot's mail_server_admin and mail_server_comment. */
function operatorEntries(s: ImapContext): Map<string, string | undefined> {
  return new Map([
    ['/shared/admin', s.settings.metadata.admin],
    ['/shared/comment', s.settings.metadata.comment],
  ]);
}

/** The entries' values as the user may see them, with the special use of a mailbox that has none stored. */
async function entriesOf(s: ImapContext, place: Place): Promise<Map<string, Buffer>> {
  const entries = await s.services.store.metadata(place.scope);
  const target = place.target;
  if (target?.own && !entries.has(SPECIAL_USE_ENTRY)) {
    const use = specialUse(target.mailbox);
    if (use) entries.set(SPECIAL_USE_ENTRY, Buffer.from(use));
  }
  for (const name of [...entries.keys()]) if (DOVECOT_PRIVATE.test(name)) entries.delete(name);
  if (!target) {
    for (const [name, value] of operatorEntries(s)) {
      if (value === undefined) entries.delete(name);
      else entries.set(name, Buffer.from(value));
    }
  }
  return entries;
}

function literal(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${value.length}}\r\n`), value]);
}

// RFC 5464 section 4.2: GETMETADATA [(MAXSIZE n DEPTH 0|1|infinity)] mailbox entry|(entries)
export async function getmetadata(s: ImapContext, c: Command): Promise<string | undefined> {
  const a = c.args;
  a.sp();
  let maxSize = Number.POSITIVE_INFINITY;
  let depth = 0;
  if (a.peek() === 0x28) {
    a.list(() => {
      const option = a.atom('MAXSIZE or DEPTH').toUpperCase();
      a.sp();
      if (option === 'MAXSIZE') maxSize = a.number('the MAXSIZE in octets');
      else if (option === 'DEPTH') {
        const value = a.atom('0, 1 or infinity').toLowerCase();
        if (value === '0' || value === '1') depth = Number(value);
        else if (value === 'infinity') depth = Number.POSITIVE_INFINITY;
        else throw bad(`DEPTH is 0, 1 or infinity, not ${quoteClient(value, 20)}`);
      } else throw bad(`Unknown GETMETADATA option ${quoteClient(option, 20)}; they are MAXSIZE and DEPTH`);
    }, 'the GETMETADATA options');
    a.sp();
  }
  const mailbox = a.astring('a mailbox name');
  a.sp();
  const asked: string[] = [];
  if (a.peek() === 0x28) a.list(() => asked.push(entryName(a)), 'the entry names');
  else asked.push(entryName(a));
  a.end();
  if (asked.length === 0) throw bad('GETMETADATA needs at least one entry name');
  const place = await placeOf(s, mailbox);
  // RFC 5464 section 3.4 with ACL (RFC 4314): the shared entries of a mailbox are read with the r right
  if (place.target && !place.rights.includes('r') && asked.some((e) => e.startsWith('/shared')))
    throw no(`You may not read the shared entries of ${place.target.display}`, 'NOPERM');
  const entries = await entriesOf(s, place);
  const parts: Buffer[] = [];
  let longest = 0;
  const add = (name: string, value: Buffer | undefined, required: boolean) => {
    if (value === undefined) {
      if (required) parts.push(Buffer.from(`${name} NIL`));
      return;
    }
    if (value.length > maxSize) {
      longest = Math.max(longest, value.length);
      return;
    }
    parts.push(Buffer.concat([Buffer.from(`${name} `), literal(value)]));
  };
  const sent = new Set<string>();
  for (const name of asked) {
    if (sent.has(name)) continue;
    sent.add(name);
    add(name, entries.get(name), true);
    if (depth === 0) continue;
    const below = [...entries.keys()]
      .filter((e) => e.startsWith(`${name}/`) && (depth > 1 || !e.slice(name.length + 1).includes('/')))
      .sort();
    for (const e of below) {
      if (sent.has(e)) continue;
      sent.add(e);
      add(e, entries.get(e), false);
    }
  }
  if (parts.length > 0) {
    const joined: Buffer[] = [Buffer.from(`* METADATA ${place.wire} (`)];
    for (const [i, part] of parts.entries()) joined.push(i === 0 ? part : Buffer.concat([Buffer.from(' '), part]));
    joined.push(Buffer.from(')\r\n'));
    s.sendRaw(Buffer.concat(joined));
  }
  // RFC 5464 section 4.2.1: the largest value left out for MAXSIZE
  return longest > 0 ? `[METADATA LONGENTRIES ${longest}] GETMETADATA completed` : undefined;
}

/**
 * A /private/specialuse value as it is kept: the uses, each once, spelt as RFC 6154 does; NO [USEATTR]
 * for one no mailbox here can have (RFC 6154 section 3). An empty value says "no special use".
 */
export function checkUses(uses: readonly string[]): string {
  const kept: string[] = [];
  for (const use of uses) {
    const known = KEPT_USES.find((u) => u.toLowerCase() === use.toLowerCase());
    if (!known) {
      const virtual = VIRTUAL_USES.find((u) => u.toLowerCase() === use.toLowerCase());
      throw no(
        virtual
          ? `${virtual} is the use of a virtual mailbox, which this server does not make`
          : `${quoteClient(use, 30)} is not a special use this server knows (${KEPT_USES.join(' ')})`,
        'USEATTR',
      );
    }
    if (!kept.includes(known)) kept.push(known);
  }
  return kept.join(' ');
}

// RFC 5464 section 4.3: SETMETADATA mailbox (entry value ...); a NIL value removes the entry
export async function setmetadata(s: ImapContext, c: Command): Promise<void> {
  const a = c.args;
  a.sp();
  const mailbox = a.astring('a mailbox name');
  a.sp();
  const changes = new Map<string, Buffer | null>();
  a.list(() => {
    const name = entryName(a);
    a.sp();
    let value: Buffer | null;
    if (a.peekAtom('NIL')) {
      a.atom();
      value = null;
    } else if (a.atLiteral8()) value = a.stringBytes('a value', true);
    else value = a.astringBytes('a value');
    changes.delete(name); // the last value given for an entry is the one kept
    changes.set(name, value);
  }, 'the entries and their values');
  a.end();
  if (changes.size === 0) throw bad('SETMETADATA needs at least one entry and its value');
  for (const name of changes.keys())
    if (!isMetadataEntry(name)) throw bad(`Give an entry below /private or /shared, not ${quoteClient(name, 40)}`);
  const place = await placeOf(s, mailbox);
  const { maxSize, maxEntries } = s.settings.metadata;
  for (const [name, value] of changes) {
    if (DOVECOT_PRIVATE.test(name)) throw no(`${quoteClient(name, 60)} is kept by the server for itself`, 'CANNOT');
    if (!place.target && operatorEntries(s).has(name)) throw no(`The server's ${name} is set by its operator (imap.metadata)`, 'CANNOT');
    // RFC 5464 section 4.3: the largest value the server keeps
    if (value && value.length > maxSize) throw no(`A value may be at most ${maxSize} octets`, `METADATA MAXSIZE ${maxSize}`);
    if (name === SPECIAL_USE_ENTRY && place.target && value) {
      const uses = value.toString('latin1').split(' ').filter(Boolean);
      changes.set(name, Buffer.from(checkUses(uses))); // RFC 6154 section 4: spelt as LIST shows them
    }
  }
  // RFC 5464 section 3.4 with ACL (RFC 4314): shared entries of a mailbox are written with the w right
  if (place.target && !place.rights.includes('w') && [...changes.keys()].some((e) => e.startsWith('/shared/')))
    throw no(`You may not change the shared entries of ${place.target.display}`, 'NOPERM');
  try {
    await s.services.store.setMetadata(place.scope, changes, maxEntries);
  } catch (err) {
    // RFC 5464 section 4.3: nothing was changed
    if (err instanceof MetadataTooManyError) throw no(`No room for more entries: ${err.message}`, 'METADATA TOOMANY');
    throw err;
  }
}

/** RFC 6154 section 3: CREATE's "(USE (\Drafts ...))" parameter after the name: the uses, checked (NO [USEATTR]). */
export function createUses(args: Cursor): string {
  const uses: string[] = [];
  let given = false;
  args.list(() => {
    const param = args.atom('a CREATE parameter').toUpperCase();
    if (param !== 'USE') throw bad(`Unknown CREATE parameter ${quoteClient(param, 20)}; this server knows USE (RFC 6154)`);
    if (given) throw bad('USE is given twice');
    given = true;
    args.sp();
    args.list(() => {
      args.expect(0x5c, 'a special-use attribute (\\Drafts, \\Sent ...)');
      uses.push(`\\${args.atom('a special-use attribute')}`);
    }, 'the special uses');
  }, 'the CREATE parameters');
  return checkUses(uses);
}

/** Keeps the uses CREATE gave the mailbox it made (as its /private/specialuse entry). */
export async function keepUses(s: ImapContext, target: MailboxTarget, uses: string): Promise<void> {
  if (uses === '') return;
  const scope = { owner: target.owner, mailbox: target.mailbox, user: s.user() };
  await s.services.store.setMetadata(scope, new Map([[SPECIAL_USE_ENTRY, Buffer.from(uses)]]), s.settings.metadata.maxEntries);
}

/** The special uses kept for those of the user's own `mailboxes` that have one (LIST); others have those of their names. */
export async function keptUses(s: ImapContext, mailboxes: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [mailbox, value] of await s.services.store.entryOfMailboxes(s.user(), SPECIAL_USE_ENTRY, mailboxes))
    out.set(mailbox, value.toString('latin1'));
  return out;
}
