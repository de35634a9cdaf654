// LIST (RFC 9051 section 6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154,
// CHILDREN RFC 3348, LIST-MYRIGHTS RFC 8440) and LSUB (RFC 3501 section 6.3.9). The user's own mailboxes match ordinary
// patterns; other users' and the public ones match patterns that start with "~" (listing them reads
// every account's mailboxes and rights, so "*" alone does not: as in CommuniGate).
import type { AccountAddress } from '../../../accounts/names.js';
import { DELIMITER, parentsOf } from '../../../store/contract.js';
import { ALL_RIGHTS } from '../../../accounts/rights.js';
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { type MailboxPattern, mailboxPattern } from '../mailbox-pattern.js';
import { decodeNameOrNull, encodeName, OTHERS, prefixFor, resolveName, specialUse } from '../mailbox-names.js';
import { astring } from '../wire/encode.js';
import { type StatusItem, statusItems, statusOf } from './mailbox-commands.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { keptUses } from './metadata.js';

interface Candidate {
  /** The name the client sees (Unicode). */
  display: string;
  owner: AccountAddress;
  mailbox: string | null; // null: a "~user" level, not a mailbox
  selectable: boolean;
  hasChildren: boolean;
  rights: string;
  /** The special uses kept for one of the user's own mailboxes (RFC 6154: its /private/specialuse; "" for none). */
  use?: string;
}

function patternRegex(pattern: string): MailboxPattern {
  return mailboxPattern(pattern.replace(/^inbox(?=$|\/)/i, 'INBOX'));
}

function matchName(display: string): string {
  return display.replace(/^inbox(?=$|\/)/i, 'INBOX');
}

async function ownCandidates(s: ImapContext): Promise<Candidate[]> {
  const user = s.user();
  const entries = await s.services.store.listMailboxes(user);
  const uses = await keptUses(
    s,
    entries.filter((e) => e.selectable).map((e) => e.name),
  );
  return entries.map((e) => ({
    display: e.name,
    owner: user,
    mailbox: e.name,
    selectable: e.selectable,
    hasChildren: e.hasChildren,
    rights: ALL_RIGHTS,
    use: uses.get(e.name),
  }));
}

/** Other accounts' mailboxes the user may see (l), and a "~owner" level above each owner's. */
async function otherCandidates(s: ImapContext): Promise<Candidate[]> {
  const user = s.user();
  const out: Candidate[] = [];
  for (const record of await s.services.accounts.list()) {
    const owner = { name: record.name, domain: record.domain };
    if (owner.name === user.name && owner.domain === user.domain) continue;
    const visible: Candidate[] = [];
    for (const e of await s.services.store.listMailboxes(owner).catch(() => [])) {
      const rights = await s.services.store.rights(owner, e.name, user).catch(() => '');
      if (!rights.includes('l')) continue;
      visible.push({
        display: `${prefixFor(owner, user)}${e.name}`,
        owner,
        mailbox: e.name,
        selectable: e.selectable && rights.includes('r'),
        hasChildren: e.hasChildren,
        rights,
      });
    }
    if (visible.length > 0)
      out.push(
        { display: prefixFor(owner, user).slice(0, -1), owner, mailbox: null, selectable: false, hasChildren: true, rights: '' },
        ...visible,
      );
  }
  return out;
}

interface ListOptions {
  subscribedOnly: boolean;
  recursiveMatch: boolean;
  specialUseOnly: boolean;
  returnSubscribed: boolean;
  returnChildren: boolean;
  returnSpecialUse: boolean;
  status: StatusItem[] | null;
  /** RFC 8440: a MYRIGHTS response after each mailbox's LIST. */
  returnMyRights: boolean;
}

// RFC 9051 section 6.3.9 with RFC 5258's selection and return options
export async function list(s: ImapContext, c: Command): Promise<void> {
  const a = c.args;
  a.sp();
  const options: ListOptions = {
    subscribedOnly: false,
    recursiveMatch: false,
    specialUseOnly: false,
    returnSubscribed: false,
    returnChildren: true,
    returnSpecialUse: true,
    status: null,
    returnMyRights: false,
  };
  if (a.peek() === 0x28) {
    a.list(() => {
      const opt = a.atom('a LIST selection option').toUpperCase();
      if (opt === 'SUBSCRIBED') options.subscribedOnly = true;
      else if (opt === 'RECURSIVEMATCH') options.recursiveMatch = true;
      else if (opt === 'SPECIAL-USE') options.specialUseOnly = true;
      else if (opt !== 'REMOTE') throw bad(`Unknown LIST selection option ${quoteClient(opt, 20)}`);
    }, 'the LIST selection options');
    a.sp();
    if (options.recursiveMatch && !options.subscribedOnly) throw bad('RECURSIVEMATCH needs another selection option (SUBSCRIBED)');
  }
  // a reference or pattern that is not valid modified UTF-7 matches no name: an empty answer (as Dovecot)
  const reference = decodeNameOrNull(a.astring('a reference name'), s.utf8Names);
  a.sp();
  const given: (string | null)[] = [];
  if (a.peek() === 0x28) {
    a.list(() => given.push(decodeNameOrNull(a.listMailbox(), s.utf8Names)), 'the mailbox patterns');
  } else given.push(decodeNameOrNull(a.listMailbox(), s.utf8Names));
  const patterns = given.filter((p): p is string => p !== null);
  if (a.maybeSp()) {
    if (a.atom('RETURN').toUpperCase() !== 'RETURN') a.fail('RETURN');
    a.sp();
    a.list(() => {
      const opt = a.atom('a LIST return option').toUpperCase();
      if (opt === 'SUBSCRIBED') options.returnSubscribed = true;
      else if (opt === 'CHILDREN') options.returnChildren = true;
      else if (opt === 'SPECIAL-USE') options.returnSpecialUse = true;
      else if (opt === 'MYRIGHTS') options.returnMyRights = true;
      else if (opt === 'STATUS') {
        a.sp();
        options.status = statusItems(a);
      } else throw bad(`Unknown LIST return option ${quoteClient(opt, 20)}`);
    }, 'the LIST return options');
  }
  a.end();
  if (options.subscribedOnly) options.returnSubscribed = true;
  if (reference === null || patterns.length === 0) return;

  // RFC 9051: an empty pattern asks for the delimiter and the root of the reference
  if (patterns.length === 1 && patterns[0] === '') {
    s.send(`* LIST (\\Noselect) "${DELIMITER}" ""`);
    return;
  }
  const full = patterns.map((p) => (p.startsWith(OTHERS) || reference === '' ? p : `${reference}${p}`));
  const regexes = full.map(patternRegex);
  const wantsOthers = full.some((p) => p.startsWith(OTHERS));
  const candidates = [...(await ownCandidates(s)), ...(wantsOthers ? await otherCandidates(s) : [])];
  const subscribed = new Set(options.returnSubscribed ? await s.services.store.subscriptions(s.user()) : []);
  const byName = new Map(candidates.map((m) => [matchName(m.display), m]));

  const rows: { display: string; attrs: string[]; childInfo: boolean; candidate: Candidate | null }[] = [];
  if (options.subscribedOnly) {
    const names = new Set([...subscribed].map(matchName));
    for (const name of names) {
      const m = byName.get(name);
      if (!regexes.some((r) => r.test(name))) continue;
      const attrs = ['\\Subscribed'];
      if (!m) attrs.push('\\NonExistent');
      else pushAttrs(attrs, m, options);
      rows.push({ display: m?.display ?? name, attrs, childInfo: false, candidate: m ?? null });
    }
    if (options.recursiveMatch) {
      for (const m of candidates) {
        const name = matchName(m.display);
        if (names.has(name) || !regexes.some((r) => r.test(name))) continue;
        if (![...names].some((n) => n.startsWith(`${name}${DELIMITER}`))) continue;
        const attrs: string[] = [];
        pushAttrs(attrs, m, options);
        rows.push({ display: m.display, attrs, childInfo: true, candidate: m });
      }
    }
  } else {
    for (const m of candidates) {
      const name = matchName(m.display);
      if (!regexes.some((r) => r.test(name))) continue;
      const use = m.mailbox !== null && m.owner === s.user() ? specialUseOf(m) : null;
      if (options.specialUseOnly && !use) continue;
      const attrs: string[] = [];
      pushAttrs(attrs, m, options);
      if (options.returnSubscribed && subscribed.has(m.display)) attrs.push('\\Subscribed');
      rows.push({ display: m.display, attrs, childInfo: false, candidate: m });
    }
  }
  for (const row of rows) {
    const name = astring(encodeName(row.display, s.utf8Names));
    s.send(`* LIST (${row.attrs.join(' ')}) "${DELIMITER}" ${name}${row.childInfo ? ' (CHILDINFO ("SUBSCRIBED"))' : ''}`);
    const m = row.candidate;
    if (options.status && m && m.mailbox !== null && m.selectable && m.rights.includes('r')) {
      const target = resolveName(s.services.accounts, s.user(), row.display);
      const text = await statusOf(s, target, options.status).catch(() => null);
      if (text) s.send(`* STATUS ${name} ${text}`);
    }
    // RFC 8440 section 3: for each mailbox listed that can be selected (a level that is no mailbox has no rights)
    if (options.returnMyRights && m && m.mailbox !== null && m.selectable) s.send(`* MYRIGHTS ${name} ${m.rights}`);
  }
}

function pushAttrs(attrs: string[], m: Candidate, options: ListOptions): void {
  if (!m.selectable) attrs.push('\\Noselect');
  if (options.returnChildren) attrs.push(m.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
  const use = m.mailbox !== null && options.returnSpecialUse ? specialUseOf(m) : null;
  if (use) attrs.push(use);
}

function specialUseOf(m: Candidate): string | null {
  if (m.display !== m.mailbox) return null;
  return m.use !== undefined ? m.use || null : specialUse(m.mailbox);
}

// RFC 3501 section 6.3.9: the subscribed names that match, and (\Noselect) a level above a subscribed
// name that matches when the name itself does not: LSUB "" "%" with only "foo/bar" subscribed shows "foo".
export async function lsub(s: ImapContext, c: Command): Promise<void> {
  const a = c.args;
  a.sp();
  const reference = decodeNameOrNull(a.astring('a reference name'), s.utf8Names);
  a.sp();
  const pattern = decodeNameOrNull(a.listMailbox(), s.utf8Names);
  a.end();
  if (reference === null || pattern === null) return; // not valid modified UTF-7: matches nothing
  const regex = patternRegex(pattern.startsWith(OTHERS) ? pattern : `${reference}${pattern}`);
  const existing = new Set((await ownCandidates(s)).map((m) => matchName(m.display)));
  const subscribed = await s.services.store.subscriptions(s.user());
  const shown = new Set(subscribed.map(matchName));
  const send = (name: string, attrs: string) => s.send(`* LSUB (${attrs}) "${DELIMITER}" ${astring(encodeName(name, s.utf8Names))}`);
  for (const name of subscribed) {
    if (regex.test(matchName(name))) {
      send(name, name.startsWith(OTHERS) || existing.has(matchName(name)) ? '' : '\\Noselect');
      continue;
    }
    for (const parent of parentsOf(name)) {
      const key = matchName(parent);
      if (shown.has(key) || !regex.test(key)) continue;
      shown.add(key);
      send(parent, '\\Noselect');
    }
  }
}
