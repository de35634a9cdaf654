// Where an outcome's stores land at delivery (delivery/delivered-outcome.ts), the rule `postern sieve test`
// prints and the delivery writes: each mailbox once with the flags of every store into it; a missing mailbox
// without :create is INBOX.
import { describe, expect, it } from 'vitest';
import { deliveredOutcome, storeTargets } from '../../delivery/delivered-outcome.js';
import type { SieveAction, SieveOutcome } from '../../sieve/outcome.js';

const store = (mailbox: string, flags: string[] = [], more: { create?: boolean; implicit?: boolean } = {}): SieveAction => ({
  kind: 'store',
  mailbox,
  flags,
  create: more.create ?? false,
  implicit: more.implicit ?? false,
});
const outcome = (actions: SieveAction[]): SieveOutcome => ({ actions, edited: null, remember: [], error: null, log: [] });

describe('deliveredOutcome', () => {
  it('a fileinto a missing mailbox is the implicit keep into INBOX, with its flags', () => {
    const d = deliveredOutcome(outcome([store('Spam', ['\\Seen'])]), ['INBOX']);
    expect(d.missing).toEqual(['Spam']);
    expect(d.outcome.actions).toEqual([store('INBOX', ['\\Seen'], { implicit: true })]);
  });

  it('INBOX is written once whichever comes first, the flags of both together', () => {
    for (const actions of [
      [store('Missing', ['\\Flagged']), store('inbox', ['x'])],
      [store('INBOX', ['x']), store('Missing', ['\\Flagged'])],
    ]) {
      const d = deliveredOutcome(outcome(actions), ['INBOX', 'Work']);
      expect(d.outcome.actions).toHaveLength(1);
      const only = d.outcome.actions[0];
      expect(only).toMatchObject({ kind: 'store', mailbox: 'INBOX', implicit: false });
      expect(only?.kind === 'store' ? [...only.flags].sort() : null).toEqual(['\\Flagged', 'x']);
    }
  });

  it('an existing mailbox, or :create, is kept; other actions stay in place', () => {
    const redirect: SieveAction = { kind: 'redirect', address: 'x@example.net' };
    const d = deliveredOutcome(outcome([store('Work'), redirect, store('New', [], { create: true })]), ['INBOX', 'Work']);
    expect(d.missing).toEqual([]);
    expect(d.outcome.actions).toEqual([store('Work'), redirect, store('New', [], { create: true })]);
  });
});

describe('storeTargets', () => {
  it("the keep goes to the delivery's keep mailbox (postern deliver --mailbox), merged with a fileinto there", () => {
    const targets = storeTargets([store('INBOX', ['a'], { implicit: true }), store('Work', ['b'])], 'Work');
    expect([...targets.values()]).toEqual([{ mailbox: 'Work', flags: new Set(['a', 'b']), create: false, implicit: false }]);
  });
});
