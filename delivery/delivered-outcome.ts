// Where the stores of a Sieve outcome land at delivery, the one rule both the delivery (sieve-actions.ts, which
// writes them) and `postern sieve test` (which prints them) follow: each mailbox is written once, with the
// flags of every store into it (issue 23: "a message is never stored twice in one folder by one run"); INBOX
// in any case is INBOX and takes the keep (or `postern deliver --mailbox`'s folder); a store into a mailbox
// that does not exist, without :create, lands in INBOX (issue 23: "a fileinto a missing folder keeps to INBOX").
import type { SieveAction, SieveOutcome } from '../sieve/outcome.js';

type Store = Extract<SieveAction, { kind: 'store' }>;

/** A mailbox a delivery writes, once. */
export interface StoreTarget {
  readonly mailbox: string;
  /** The flags of every store that lands here. */
  readonly flags: Set<string>;
  /** One of them asked for :create (RFC 5490 section 3). */
  create: boolean;
  /** Only the implicit keep, or a store that fell back to INBOX, lands here (sieve-test lists it as the implicit keep). */
  implicit: boolean;
}

const isInbox = (mailbox: string) => mailbox.toUpperCase() === 'INBOX';

/**
 * The mailbox a store lands in: the keep (INBOX in any case) goes to `keepMailbox`; with `exists` given, a
 * mailbox it denies, without :create, is INBOX. (The delivery asks its store instead, as it stages each target.)
 */
function landing(a: Store, keepMailbox: string, exists: ((mailbox: string) => boolean) | undefined): string {
  if (isInbox(a.mailbox)) return isInbox(keepMailbox) ? 'INBOX' : keepMailbox;
  if (exists && !a.create && !exists(a.mailbox)) return 'INBOX';
  return a.mailbox;
}

/** The outcome's stores as the mailboxes they land in, each once, in the order first named. */
export function storeTargets(
  actions: readonly SieveAction[],
  keepMailbox = 'INBOX',
  exists?: (mailbox: string) => boolean,
): Map<string, StoreTarget> {
  const targets = new Map<string, StoreTarget>();
  for (const a of actions) {
    if (a.kind !== 'store') continue;
    const mailbox = landing(a, keepMailbox, exists);
    const fellBack = mailbox === 'INBOX' && !isInbox(a.mailbox);
    const known = targets.get(mailbox);
    if (known) {
      for (const f of a.flags) known.flags.add(f);
      known.create ||= a.create;
      known.implicit &&= a.implicit || fellBack;
    } else targets.set(mailbox, { mailbox, flags: new Set(a.flags), create: a.create, implicit: a.implicit || fellBack });
  }
  return targets;
}

/**
 * The outcome as a delivery would carry it out, given the account's `mailboxes`: each store replaced by the
 * target it lands in (at the place of the first store into it), and the mailboxes that do not exist.
 */
export function deliveredOutcome(outcome: SieveOutcome, mailboxes: readonly string[]): { outcome: SieveOutcome; missing: string[] } {
  const known = new Set(mailboxes);
  const exists = (mailbox: string) => known.has(mailbox);
  const targets = storeTargets(outcome.actions, 'INBOX', exists);
  const missing: string[] = [];
  const placed = new Set<string>();
  const actions: SieveAction[] = [];
  for (const a of outcome.actions) {
    if (a.kind !== 'store') {
      actions.push(a);
      continue;
    }
    const mailbox = landing(a, 'INBOX', exists);
    if (mailbox === 'INBOX' && !isInbox(a.mailbox)) missing.push(a.mailbox);
    if (placed.has(mailbox)) continue;
    placed.add(mailbox);
    const t = targets.get(mailbox)!;
    actions.push({ kind: 'store', mailbox: t.mailbox, flags: [...t.flags], create: t.create, implicit: t.implicit });
  }
  return { outcome: { ...outcome, actions }, missing };
}
