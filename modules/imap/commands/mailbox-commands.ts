// Mailboxes (RFC 9051 sections 6.3.4-6.3.11): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
// NAMESPACE and STATUS. Names are resolved for the user (mailbox-names.ts); other users' mailboxes need
// the rights RFC 4314 gives: k to create below one, x to delete or rename one.
import type { Grantee } from '../../../accounts/rights.js';
import { DELIMITER, isInbox, type MailboxView, parentsOf } from '../../../store/contract.js';
import { requireRight, rightsOn } from '../access.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { decodeName, encodeName, type MailboxTarget, resolveName } from '../mailbox-names.js';
import { astring } from '../wire/encode.js';
import type { Cursor } from '../wire/cursor.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { createUses, keepUses } from './metadata.js';
import { enableCondstore } from '../condstore.js';

/** Reads a mailbox argument and resolves it. */
export function mailboxArg(s: ImapContext, args: Cursor): { target: MailboxTarget; wire: string } {
  const wire = args.astring('a mailbox name');
  return { target: resolveName(s.services.accounts, s.user(), decodeName(wire, s.utf8Names)), wire };
}

/** The mailbox name as the client sees it, encoded for the wire. */
export function wireName(s: ImapContext, target: MailboxTarget): string {
  return astring(encodeName(target.display, s.utf8Names));
}

/**
 * For a mailbox to be made at `target` in another user's tree: the k right (RFC 4314 section 4) on the
 * level above it, which must exist; the top level of someone else's tree is the owner's only.
 */
async function requireCreateRight(s: ImapContext, target: MailboxTarget): Promise<MailboxTarget | null> {
  if (target.own) return null;
  const parents = parentsOf(target.mailbox);
  if (parents.length === 0) throw no(`Only ${target.owner.name} can make top-level mailboxes there`, 'NOPERM');
  const parent = { ...target, mailbox: parents[parents.length - 1] };
  await requireRight(s, parent, 'k', 'create mailboxes');
  return parent;
}

/** A mailbox made in another user's tree gets the rights of the level above it, as Dovecot's ACL plugin gives them. */
async function inheritRights(s: ImapContext, parent: MailboxTarget, made: MailboxTarget): Promise<void> {
  const { store, accounts } = s.services;
  for (const [id, rights] of await store.acl(parent.owner, parent.mailbox)) {
    let grantee: Grantee;
    if (id === 'anyone' || id === 'authenticated') grantee = id;
    else if (id.startsWith('user=')) {
      try {
        grantee = { user: accounts.domains.parse(id.slice(5)) };
      } catch {
        continue; // an entry for no account of this server
      }
    } else continue; // "owner" and the like: the owner holds every right anyway
    await store.setRights(made.owner, made.mailbox, grantee, rights);
  }
}

/** True when `target` is the selected mailbox or (`below`) a mailbox below it. */
function isSelected(s: ImapContext, target: MailboxTarget, below = false): boolean {
  if (s.state !== 'selected') return false;
  const selected = s.selected().target;
  if (selected.owner.name !== target.owner.name || selected.owner.domain !== target.owner.domain) return false;
  return selected.mailbox === target.mailbox || (below && selected.mailbox.startsWith(`${target.mailbox}${DELIMITER}`));
}

/**
 * This session deleted or renamed its selected mailbox: the command is answered OK here, then the
 * session's sync finds the mailbox gone and says BYE, as Dovecot does (it cannot stay selected).
 */
function goneHere(s: ImapContext, c: Command): null {
  const selected = s.selected();
  selected.goneHere = true;
  selected.dirty = true;
  s.send(`${c.tag} OK ${c.verb} completed`);
  return null;
}

// RFC 9051 section 6.3.4: a trailing "/" only says the name will hold others; levels above are made.
export async function create(s: ImapContext, c: Command): Promise<string> {
  c.args.sp();
  let wire = c.args.astring('a mailbox name');
  const uses = c.args.maybeSp() ? createUses(c.args) : ''; // RFC 6154 section 3: (USE (\Drafts))
  c.args.end();
  if (wire.endsWith('/')) wire = wire.slice(0, -1);
  const target = resolveName(s.services.accounts, s.user(), decodeName(wire, s.utf8Names));
  if (isInbox(target.mailbox) && target.own) throw no('INBOX always exists', 'ALREADYEXISTS');
  const parent = await requireCreateRight(s, target);
  if (!(await s.services.store.createMailbox(target.owner, target.mailbox))) throw no(`${target.display} already exists`, 'ALREADYEXISTS');
  if (parent) await inheritRights(s, parent, target);
  await keepUses(s, target, uses);
  return `${await mailboxIdCode(s, target)}CREATE completed`;
}

/** RFC 8474 section 4.1: the new mailbox's MAILBOXID in CREATE's OK ("[MAILBOXID (id)] "), or nothing if it is gone already. */
async function mailboxIdCode(s: ImapContext, target: MailboxTarget): Promise<string> {
  const view = await s.services.store.open(target.owner, target.mailbox).catch(() => null);
  if (!view) return '';
  view.close();
  return `[MAILBOXID (${view.mailboxId})] `;
}

// RFC 9051 section 6.3.5: the mailboxes below it stay (listed \Noselect above them). The selected
// mailbox may be deleted: OK, then BYE (as Dovecot).
export async function del(s: ImapContext, c: Command): Promise<null | undefined> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  c.args.end();
  if (isInbox(target.mailbox) && target.own) throw no('INBOX cannot be deleted', 'CANNOT');
  if (!target.own) await requireRight(s, target, 'x', 'delete mailboxes');
  else if (!(await s.services.store.hasMailbox(target.owner, target.mailbox))) throw no('No such mailbox', 'NONEXISTENT');
  await s.services.store.deleteMailbox(target.owner, target.mailbox);
  return isSelected(s, target) ? goneHere(s, c) : undefined;
}

// RFC 9051 section 6.3.6: the mailboxes below move too; renaming INBOX moves its messages. In another
// user's tree: x on the mailbox, and k where it goes (RFC 4314 section 4).
export async function rename(s: ImapContext, c: Command): Promise<null | undefined> {
  c.args.sp();
  const from = mailboxArg(s, c.args).target;
  c.args.sp();
  const to = mailboxArg(s, c.args).target;
  c.args.end();
  if (from.owner.name !== to.owner.name || from.owner.domain !== to.owner.domain)
    throw no('A mailbox can only be renamed within one account', 'CANNOT');
  if (!from.own) await requireRight(s, from, 'x', 'rename mailboxes');
  else if (!(await s.services.store.hasMailbox(from.owner, from.mailbox))) throw no('No such mailbox', 'NONEXISTENT');
  await requireCreateRight(s, to);
  if (await s.services.store.hasMailbox(to.owner, to.mailbox)) throw no(`${to.display} already exists`, 'ALREADYEXISTS');
  await s.services.store.renameMailbox(from.owner, from.mailbox, to.mailbox);
  // renaming INBOX moves its messages only: INBOX stays selected (its messages are expunged)
  return !isInbox(from.mailbox) && isSelected(s, from, true) ? goneHere(s, c) : undefined;
}

// RFC 9051 sections 6.3.7 and 6.3.8: the user's own subscriptions (a name may be subscribed before it exists).
export async function subscribe(s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  c.args.end();
  await s.services.store.subscribe(s.user(), target.display);
}

export async function unsubscribe(s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  c.args.end();
  await s.services.store.unsubscribe(s.user(), target.display);
}

// RFC 2342 / RFC 9051 section 6.3.10: personal "", other users "~", shared "~public/".
export function namespace(s: ImapContext, c: Command): void {
  c.args.end();
  s.send('* NAMESPACE (("" "/")) (("~" "/")) (("~public/" "/"))');
}

export const STATUS_ITEMS = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'DELETED-STORAGE',
  'MAILBOXID',
  // RFC 7162 section 3.1.7
  'HIGHESTMODSEQ',
] as const;
export type StatusItem = (typeof STATUS_ITEMS)[number];

export function statusItems(args: Cursor): StatusItem[] {
  const items: StatusItem[] = [];
  args.list(() => {
    const item = args.atom('a STATUS item').toUpperCase() as StatusItem;
    if (!STATUS_ITEMS.includes(item)) throw bad(`Unknown STATUS item ${quoteClient(item, 20)}; they are ${STATUS_ITEMS.join(' ')}`);
    items.push(item);
  }, 'the STATUS items');
  if (items.length === 0) throw bad('STATUS needs at least one item');
  return items;
}

/**
 * STATUS RECENT (RFC 3501 section 6.3.10): the messages no session has taken as recent yet, or, for the
 * mailbox this session has selected, those recent in it (as Dovecot answers).
 */
async function recentIn(s: ImapContext, target: MailboxTarget, view: MailboxView): Promise<number> {
  if (s.state === 'selected') {
    const sel = s.selected();
    const same =
      sel.target.mailbox === target.mailbox &&
      sel.target.owner.name === target.owner.name &&
      sel.target.owner.domain === target.owner.domain;
    if (same) return sel.recentCount;
  }
  return (await view.claimRecent('peek')).length;
}

/** The "(MESSAGES n ...)" of one mailbox the user may read. */
export async function statusOf(s: ImapContext, target: MailboxTarget, items: readonly StatusItem[]): Promise<string> {
  const view = await s.services.store.open(target.owner, target.mailbox);
  try {
    const messages = view.messages;
    const out: string[] = [];
    for (const item of items) {
      let value: number;
      switch (item) {
        case 'MESSAGES':
          value = messages.length;
          break;
        case 'UIDNEXT':
          value = view.uidNext;
          break;
        case 'UIDVALIDITY':
          value = view.uidValidity;
          break;
        case 'UNSEEN':
          value = messages.reduce((n, m) => (m.flags.has('\\Seen') ? n : n + 1), 0);
          break;
        case 'DELETED':
          value = messages.reduce((n, m) => (m.flags.has('\\Deleted') ? n + 1 : n), 0);
          break;
        case 'SIZE':
          value = messages.reduce((n, m) => n + m.size, 0);
          break;
        case 'RECENT':
          value = await recentIn(s, target, view);
          break;
        case 'DELETED-STORAGE':
          // RFC 9208 section 4.2.5: what an EXPUNGE would free, in units of 1024 octets
          value = Math.ceil(messages.reduce((n, m) => (m.flags.has('\\Deleted') ? n + m.size : n), 0) / 1024);
          break;
        case 'MAILBOXID': // RFC 8474 section 4.3: an objectid, in parentheses
          out.push(`MAILBOXID (${view.mailboxId})`);
          continue;
        case 'HIGHESTMODSEQ':
          value = view.highestModseq;
          break;
      }
      out.push(`${item} ${value}`);
    }
    return `(${out.join(' ')})`;
  } finally {
    view.close();
  }
}

// RFC 9051 section 6.3.11
export async function status(s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  c.args.sp();
  const items = statusItems(c.args);
  c.args.end();
  if (items.includes('HIGHESTMODSEQ')) enableCondstore(s); // RFC 7162 section 3.1: a CONDSTORE enabling command
  const rights = await rightsOn(s, target);
  if (!rights.includes('r') || !(await s.services.store.hasMailbox(target.owner, target.mailbox)))
    throw no('No such mailbox', 'NONEXISTENT');
  // the selected mailbox's numbers come from the session's own view, as its client knows them
  s.send(`* STATUS ${wireName(s, target)} ${await statusOf(s, target, items)}`);
}
