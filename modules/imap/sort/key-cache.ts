// The sort keys of messages (sort-keys.ts), kept in memory per mailbox storage and UIDVALIDITY by message
// key, as fetch/summary-cache.ts keeps rendered envelopes: a message's octets and internal date never
// change while its key lives (a Maildir file is renamed for its flags, never rewritten), so a second
// SORT or THREAD of a mailbox reads no file. One cache per process, bounded by an estimate of the
// octets it holds; the oldest entries leave first.
import { type MailboxView, type MessageInfo, MessageGoneError } from '../../../store/contract.js';
import { IdTable } from './id-table.js';
import { type SortKeys, sortKeysCost, sortKeysOf, withArrival } from './sort-keys.js';

/** Octets of keys one process keeps: about 150 octets a message, so some 400,000 messages. */
export const SORT_KEY_CACHE_BYTES = 64 * 1024 * 1024;
/** A message up to this size is read whole (one direct read); a larger one by its header section only. */
const WHOLE_READ_MAX = 64 * 1024;
/** Headers read at once when keys are missing (the first SORT of a large mailbox). */
const READ_AHEAD = 16;

type Scope = Map<string, SortKeys>;

/** Runs `work` for each index, READ_AHEAD at a time. */
async function inParallel(indexes: readonly number[], work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < indexes.length) await work(indexes[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(READ_AHEAD, indexes.length) }, worker));
}

export class SortKeyCache {
  private readonly scopes = new Map<string, Scope>();
  /** The Message-ID numbers of each scope (THREAD REFERENCES), made again when they outgrow it. */
  private readonly idTables = new WeakMap<Scope, IdTable>();
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

  /** The id numbers of the view's mailbox (thread-references.ts). */
  idTable(view: MailboxView): IdTable {
    const scope = this.scope(view);
    let table = this.idTables.get(scope);
    // ids of messages long gone keep their numbers: a table far larger than the mailbox starts again
    if (table === undefined || table.size > 20 * scope.size + 100_000) this.idTables.set(scope, (table = new IdTable()));
    return table;
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
   * The keys of these messages, in the same order: from the cache, else read and kept. With `arrival`
   * every message's internal date is known too; without, only where the Date field gave none. A message
   * removed meanwhile gets empty keys (it sorts first), not kept.
   */
  async keysOf(view: MailboxView, infos: readonly MessageInfo[], arrival: boolean): Promise<SortKeys[]> {
    const scope = this.scope(view);
    const out: SortKeys[] = new Array(infos.length);
    const missing: number[] = [];
    for (let i = 0; i < infos.length; i++) {
      const hit = scope.get(infos[i].key);
      if (hit !== undefined) out[i] = hit;
      else missing.push(i);
    }
    const gone = new Set<number>();
    await inParallel(missing, async (i) => {
      const info = infos[i];
      try {
        // the whole small message at once, without a round trip to the thread pool (the keys are made
        // from it before anything else runs: the buffer is shared), else the header section by itself
        const now = info.size <= WHOLE_READ_MAX ? view.readNow(info.uid) : null;
        out[i] = sortKeysOf(now ?? (await view.readHeader(info.uid)), info.size);
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
        out[i] = sortKeysOf(Buffer.alloc(0), info.size);
        withArrival(out[i], new Date(0));
        gone.add(i);
      }
    });
    const undated: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i].arrival === null && (arrival || out[i].sent === null)) undated.push(i);
    await inParallel(undated, async (i) => {
      try {
        withArrival(out[i], await view.internalDate(infos[i].uid));
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
        withArrival(out[i], new Date(0));
        gone.add(i);
      }
    });
    for (const i of missing) if (!gone.has(i)) this.set(scope, infos[i].key, out[i]);
    return out;
  }

  /** Octets held (as estimated for the limit). */
  get held(): number {
    return this.bytes;
  }
}

export const sortKeyCache = new SortKeyCache(SORT_KEY_CACHE_BYTES);
