// The rendered ENVELOPE, BODY and BODYSTRUCTURE of messages, kept in memory so that a client that lists a
// mailbox (FETCH 1:* (FLAGS ENVELOPE), what every client does on SELECT) costs no file reads the second
// time. Dovecot keeps the same in dovecot.index.cache; Postern never writes into Dovecot's files, and a
// message's octets never change (a Maildir file is renamed for its flags, never rewritten), so the
// rendered answer of (mailbox storage, UIDVALIDITY, message key) stays true for the message's life.
// One cache per process, bounded by the octets it holds; the oldest entries leave first. An answer of
// ASCII octets only (nearly all: 8-bit header text is rare) is kept as a string, so that a FETCH of 200
// envelopes from memory builds its lines as text and hands the socket one string, with no buffer per part.
import { isAscii } from 'node:buffer';
import type { MailboxView, MessageInfo } from '../../../store/contract.js';

export type SummaryKind = 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE';

/** Octets of rendered answers one process keeps (an ENVELOPE is typically 300-600 octets). */
export const SUMMARY_CACHE_BYTES = 32 * 1024 * 1024;

/** What one entry costs beyond its octets (the Map slots, the key, the queue entry), roughly. */
const OVERHEAD = 96;

/** A rendered answer: its octets, as a latin1 string when they are all ASCII. */
export type Summary = string | Buffer;

type Entry = Partial<Record<SummaryKind, Summary>> & { cost: number };
/** The entries of one mailbox storage and UIDVALIDITY, by message key. */
export type SummaryScope = Map<string, Entry>;

export class SummaryCache {
  private readonly scopes = new Map<string, SummaryScope>();
  /** The entries as they were made, oldest first. */
  private queue: [SummaryScope, string, Entry][] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly limit: number) {}

  /** The entries of the view's mailbox: look it up once per command, then get/set per message. */
  scope(view: MailboxView): SummaryScope {
    const name = `${view.storage}\0${view.uidValidity}`;
    let scope = this.scopes.get(name);
    if (!scope) this.scopes.set(name, (scope = new Map()));
    return scope;
  }

  get(scope: SummaryScope, info: MessageInfo, kind: SummaryKind): Summary | undefined {
    return scope.get(info.key)?.[kind];
  }

  set(scope: SummaryScope, info: MessageInfo, kind: SummaryKind, rendered: Buffer): void {
    const value: Summary = isAscii(rendered) ? rendered.toString('latin1') : rendered;
    const cost = value.length + OVERHEAD;
    if (cost > this.limit) return;
    let entry = scope.get(info.key);
    if (!entry) {
      scope.set(info.key, (entry = { cost: 0 }));
      this.queue.push([scope, info.key, entry]);
    }
    if (entry[kind] !== undefined) return;
    entry[kind] = value;
    entry.cost += cost;
    this.bytes += cost;
    while (this.bytes > this.limit && this.head < this.queue.length) {
      const [s, key, e] = this.queue[this.head++];
      if (s.get(key) !== e) continue;
      s.delete(key);
      this.bytes -= e.cost;
      if (s.size === 0) for (const [name, other] of this.scopes) if (other === s) this.scopes.delete(name);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Octets held (as counted for the limit). */
  get held(): number {
    return this.bytes;
  }
}

export const summaryCache = new SummaryCache(SUMMARY_CACHE_BYTES);
