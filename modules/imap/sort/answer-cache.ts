// The last answers of SORT and THREAD per mailbox: a webmail asks the same SORT (DATE) or THREAD
// REFERENCES each time it shows a page, and the answer depends only on which messages matched, their
// numbers, and their keys (which never change: key-cache.ts). So an answer is kept with the UIDs (and,
// for message numbers, the numbers) it was made for, and given again while they are the same.
// Dovecot keeps its thread tree between commands for the same reason. One cache per process, bounded
// by the octets it holds; the oldest answers leave first.
import type { MailboxView } from '../../../store/contract.js';

/** Octets of answers one process keeps. */
export const ANSWER_CACHE_BYTES = 32 * 1024 * 1024;

interface Entry<T> {
  readonly uids: Int32Array;
  readonly seqs: Int32Array | null;
  readonly value: T;
  readonly cost: number;
}

function same(a: Int32Array, b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry<unknown>>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  private name(view: MailboxView, key: string): string {
    return `${view.storage}\0${view.uidValidity}\0${key}`;
  }

  /** The answer made for exactly these UIDs (and message numbers, when the answer shows them). */
  get<T>(view: MailboxView, key: string, uids: readonly number[], seqs: readonly number[] | null): T | undefined {
    const e = this.entries.get(this.name(view, key));
    if (e === undefined || !same(e.uids, uids)) return undefined;
    if (seqs !== null && (e.seqs === null || !same(e.seqs, seqs))) return undefined;
    return e.value as T;
  }

  /** Keeps an answer; `octets` is what the value holds beyond the UID lists. */
  set<T>(view: MailboxView, key: string, uids: readonly number[], seqs: readonly number[] | null, value: T, octets: number): void {
    const cost = 200 + octets + 4 * uids.length * (seqs === null ? 1 : 2);
    if (cost > this.limit / 4) return;
    const name = this.name(view, key);
    const old = this.entries.get(name);
    if (old !== undefined) {
      this.entries.delete(name);
      this.bytes -= old.cost;
    }
    this.entries.set(name, { uids: Int32Array.from(uids), seqs: seqs === null ? null : Int32Array.from(seqs), value, cost });
    this.bytes += cost;
    for (const [n, e] of this.entries) {
      if (this.bytes <= this.limit) break;
      this.entries.delete(n);
      this.bytes -= e.cost;
    }
  }
}

export const answerCache = new AnswerCache(ANSWER_CACHE_BYTES);
