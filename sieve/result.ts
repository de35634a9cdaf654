// The result of a run (RFC 5228 section 2.10): the actions taken so far across the scripts of one delivery,
// with Pigeonhole's rules for duplicates and conflicts: a folder is stored into once (the later flags win), an
// address is redirected to once, reject conflicts with every action that delivers the message and with
// vacation, and the limits on actions and redirects.
import type { SieveAction } from './outcome.js';

/** A run-time error: the run stops and the message is kept in INBOX (RFC 5228 section 2.10.6). */
export class SieveRuntimeError extends Error {
  constructor(
    readonly line: number,
    text: string,
  ) {
    super(text);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type StoreAction = Mutable<Extract<SieveAction, { kind: 'store' }>>;

export class SieveResult {
  readonly actions: SieveAction[] = [];
  private readonly stores = new Map<string, { action: StoreAction; line: number }>();
  private readonly redirects = new Set<string>();
  private reject: { line: number } | null = null;
  private vacation: { line: number } | null = null;
  /** An earlier script of the sequence answered with vacation. */
  private vacationEarlier = false;
  private deliver: { kind: string; line: number } | null = null;
  private discarded = false;
  private count = 0;

  constructor(
    private where: string,
    private readonly limits: { readonly maxActions: number; readonly maxRedirects: number },
  ) {}

  private counted(line: number): void {
    if (++this.count > this.limits.maxActions)
      throw new SieveRuntimeError(line, `total number of actions exceeds policy limit (${this.count} > ${this.limits.maxActions}).`);
  }

  private conflictsWithReject(kind: string, line: number): void {
    if (this.reject)
      throw new SieveRuntimeError(
        line,
        `reject/ereject action conflicts with other action: the ${kind} action (${this.where}: line ${line}) tries to deliver the message.`,
      );
  }

  /**
   * keep / fileinto (RFC 5228 sections 4.1, 4.3): once per folder ("INBOX" in any case is one folder). False when
   * the folder was stored into already: as in Pigeonhole, such a store adds nothing and so cancels no implicit keep.
   */
  store(mailbox: string, flags: readonly string[], create: boolean, line: number): boolean {
    this.conflictsWithReject('store', line);
    const key = mailbox.toUpperCase() === 'INBOX' ? 'INBOX' : mailbox;
    const prior = this.stores.get(key);
    if (prior) {
      prior.action.flags = flags;
      prior.action.create ||= create;
      return false;
    }
    this.counted(line);
    const action: StoreAction = { kind: 'store', mailbox: key === 'INBOX' ? 'INBOX' : mailbox, flags, create, implicit: false };
    this.stores.set(key, { action, line });
    this.actions.push(action);
    this.deliver ??= { kind: 'store', line };
    return true;
  }

  /** Whether the folder is already stored into (the implicit keep then adds nothing). */
  hasStore(mailbox: string): boolean {
    return this.stores.has(mailbox.toUpperCase() === 'INBOX' ? 'INBOX' : mailbox);
  }

  /** redirect (RFC 5228 section 4.2): once per address; false (nothing added) for an address redirected to already. */
  redirect(address: string, line: number): boolean {
    this.conflictsWithReject('redirect', line);
    const key = address.toLowerCase();
    if (this.redirects.has(key)) return false;
    if (this.redirects.size + 1 > this.limits.maxRedirects)
      throw new SieveRuntimeError(
        line,
        `number of redirect actions exceeds policy limit (${this.redirects.size + 1} > ${this.limits.maxRedirects}).`,
      );
    this.counted(line);
    this.redirects.add(key);
    this.actions.push({ kind: 'redirect', address });
    this.deliver ??= { kind: 'redirect', line };
    return true;
  }

  /** reject / ereject (RFC 5429): one, never with a delivery or a vacation reply. */
  rejectWith(reason: string, extended: boolean, line: number): void {
    if (this.reject)
      throw new SieveRuntimeError(
        line,
        `duplicate reject/ereject action not allowed (previously triggered one was here: ${this.where}: line ${this.reject.line}).`,
      );
    if (this.deliver)
      throw new SieveRuntimeError(
        line,
        `reject/ereject action conflicts with other action: the ${this.deliver.kind} action (${this.where}: line ` +
          `${this.deliver.line}) tries to deliver the message.`,
      );
    if (this.vacation)
      throw new SieveRuntimeError(
        line,
        `reject/ereject action conflicts with other action: the vacation action (${this.where}: line ${this.vacation.line}) also ` +
          `sends a response back to the sender.`,
      );
    this.counted(line);
    this.reject = { line };
    this.actions.push({ kind: 'reject', reason, extended });
  }

  /**
   * vacation (RFC 5230 section 4.7): one per script, never with reject; a vacation after one of an earlier script
   * of the sequence is ignored (as Pigeonhole: one reply per delivery).
   */
  vacationReply(action: SieveAction | null, line: number): void {
    if (this.reject)
      throw new SieveRuntimeError(
        line,
        `vacation action conflicts with other action: the reject action (${this.where}: line ${this.reject.line}) also sends a ` +
          `response back to the sender.`,
      );
    if (this.vacationEarlier) return;
    if (this.vacation)
      throw new SieveRuntimeError(
        line,
        `duplicate vacation action not allowed (previously triggered one was here: ${this.where}: line ${this.vacation.line}).`,
      );
    this.vacation = { line };
    this.counted(line);
    if (action) this.actions.push(action);
  }

  /** discard (RFC 5228 section 4.4): listed once; it only cancels the implicit keep. */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.actions.push({ kind: 'discard' });
  }

  /** The implicit keep at the end of the run (RFC 5228 section 2.10.2), unless INBOX is stored into already. */
  implicitKeep(flags: readonly string[]): void {
    const prior = this.stores.get('INBOX');
    if (prior) return;
    const action: StoreAction = { kind: 'store', mailbox: 'INBOX', flags, create: false, implicit: true };
    this.stores.set('INBOX', { action, line: 0 });
    this.actions.push(action);
  }

  /** Where messages name the script ("NAME"), for the next script of a sequence. */
  /**
   * The next script of a sequence begins: the actions so far are carried out (Pigeonhole executes each script's
   * result before the next runs), so they no longer conflict with what the next script does; folders and
   * addresses already served are still served once.
   */
  nextScript(where: string): SieveResult {
    this.where = where;
    this.reject = null;
    if (this.vacation) this.vacationEarlier = true;
    this.vacation = null;
    this.deliver = null;
    return this;
  }
}
