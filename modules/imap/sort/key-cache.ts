// The sort keys of messages (sort-keys.ts), kept in memory per mailbox storage and UIDVALIDITY by message
// key, as fetch/summary-cache.ts keeps rendered envelopes: a message's octets and internal date never
// change while its key lives (a Maildir file is renamed for its flags, never rewritten), so a second
// SORT or THREAD of a mailbox reads no file. One cache per process, bounded by an estimate of the
// octets it holds; the oldest entries leave first.
import { type MailboxView, type MessageInfo, MessageGoneError } from '../../../store/contract.js';
import { type SortKeys, sortKeysCost, sortKeysOf } from './sort-keys.js';

/** Octets of keys one process keeps: about 150 octets a message, so some 400,000 messages. */
export const SORT_KEY_CACHE_BYTES = 64 * 1024 * 1024;
/** Headers read at once when keys are missing (the first SORT of a large mailbox). */
const READ_AHEAD = 16;

type Scope = Map<string, SortKeys>;

export class SortKeyCache {
  private readonly scopes = new Map<string, Scope>();
  private queue: [Scope, string, SortKeys][] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly limit: number) {}

  private scope(view: MailboxView): Scope {
    const name = `${view.storage}\0${view.uidValidity}`;
    let scope = this.scopes.get(name);
    if (!scope) this.scopes.set(name, (scope = new Map()));
    return scope;
  }

  private set(scope: Scope, key: string, keys: SortKeys): void {
    const cost = sortKeysCost(keys);
    if (cost > this.limit || scope.has(key)) return;
    scope.set(key, keys);
    this.queue.push([scope, key, keys]);
    this.bytes += cost;
    while (this.bytes > this.limit && this.head < this.queue.length) {
      const [s, k, e] = this.queue[this.head++];
      if (s.get(k) !== e) continue;
      s.delete(k);
      this.bytes -= sortKeysCost(e);
      if (s.size === 0) for (const [name, other] of this.scopes) if (other === s) this.scopes.delete(name);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The keys of these messages, in the same order: from the cache, else read (the header and the
   * internal date) and kept. A message removed meanwhile gets empty keys (it sorts first), not kept.
   */
  async keysOf(view: MailboxView, infos: readonly MessageInfo[]): Promise<SortKeys[]> {
    const scope = this.scope(view);
    const out: SortKeys[] = new Array(infos.length);
    const missing: number[] = [];
    for (let i = 0; i < infos.length; i++) {
      const hit = scope.get(infos[i].key);
      if (hit !== undefined) out[i] = hit;
      else missing.push(i);
    }
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const i = missing[next++];
        const info = infos[i];
        try {
          const [header, date] = await Promise.all([view.readHeader(info.uid), view.internalDate(info.uid)]);
          out[i] = sortKeysOf(header, date, info.size);
          this.set(scope, info.key, out[i]);
        } catch (err) {
          if (!(err instanceof MessageGoneError)) throw err;
          out[i] = sortKeysOf(Buffer.alloc(0), new Date(0), info.size);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_AHEAD, missing.length) }, worker));
    return out;
  }

  /** Octets held (as estimated for the limit). */
  get held(): number {
    return this.bytes;
  }
}

export const sortKeyCache = new SortKeyCache(SORT_KEY_CACHE_BYTES);
