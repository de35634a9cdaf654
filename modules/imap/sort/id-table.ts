// Message-IDs as numbers, for THREAD REFERENCES: each distinct id text gets a small integer once, so
// threading a mailbox again compares and looks up numbers, not strings (Dovecot keeps such a string
// map beside its index for the same reason). The sort-key cache keeps one table per mailbox; a message's
// numbers are remembered beside its keys (by identity, so they go when the keys go).
import type { SortKeys } from './sort-keys.js';

export interface IdNumbers {
  /** The Message-ID's number, or -1 without one. */
  readonly own: number;
  /** The References (or In-Reply-To) ids' numbers, oldest first. */
  readonly refs: Int32Array;
}

export class IdTable {
  private readonly numbers = new Map<string, number>();
  private readonly known = new WeakMap<SortKeys, IdNumbers>();

  /** How many distinct ids have a number (every number is below it). */
  get size(): number {
    return this.numbers.size;
  }

  private number(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) this.numbers.set(id, (n = this.numbers.size));
    return n;
  }

  numbersOf(k: SortKeys): IdNumbers {
    let ids = this.known.get(k);
    if (ids === undefined) {
      const refs = new Int32Array(k.refs.length);
      for (let i = 0; i < refs.length; i++) refs[i] = this.number(k.refs[i]);
      ids = { own: k.messageId === null ? -1 : this.number(k.messageId), refs };
      this.known.set(k, ids);
    }
    return ids;
  }
}
