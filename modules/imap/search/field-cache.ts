// The header values SEARCH's header keys compare (FROM/TO/CC/BCC as their addresses, SUBJECT and HEADER as the
// decoded field), folded as the evaluator folds them, kept in memory per mailbox storage and UIDVALIDITY by
// message key, as fetch/summary-cache.ts keeps rendered envelopes and sort/key-cache.ts sort keys: a message's
// octets never change while its key lives (a Maildir file is renamed for its flags, never rewritten), so a
// second SEARCH FROM of a mailbox reads no file. Dovecot answers header keys from dovecot.index.cache the same
// way; Postern never writes into Dovecot's files. One cache per process, bounded by an estimate of what it
// holds; the entries made first leave first.
import type { MailboxView } from '../../../store/contract.js';

/** The values of one field of one message, as the evaluator compares them (one per occurrence of the field). */
export type FieldValues = readonly string[];

/** What a process keeps: about 100 octets a message for one field, so some 300,000 messages. */
export const SEARCH_FIELD_CACHE_BYTES = 32 * 1024 * 1024;

/** What an entry costs beyond its strings (the Map slots, the message key, the array), roughly. */
const ENTRY_OVERHEAD = 120;
/** What each value costs beyond its characters (two octets each), roughly. */
const VALUE_OVERHEAD = 24;

interface Entry {
  readonly fields: Map<string, FieldValues>;
  cost: number;
}

/** The entries of one mailbox storage and UIDVALIDITY, by message key. */
export type FieldScope = Map<string, Entry>;

export class SearchFieldCache {
  private readonly scopes = new Map<string, FieldScope>();
  /** Every entry with where it is, in the order they were made (a Map keeps its insertion order). */
  private readonly made = new Map<Entry, readonly [FieldScope, string]>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  /** The entries of the view's mailbox: look it up once per command, then get/set per message. */
  scope(view: Pick<MailboxView, 'storage' | 'uidValidity'>): FieldScope {
    const name = `${view.storage}\0${view.uidValidity}`;
    let scope = this.scopes.get(name);
    if (!scope) this.scopes.set(name, (scope = new Map()));
    return scope;
  }

  /** The values kept for the message with this key; `field` is the caller's name for what it kept. */
  get(scope: FieldScope, messageKey: string, field: string): FieldValues | undefined {
    return scope.get(messageKey)?.fields.get(field);
  }

  set(scope: FieldScope, messageKey: string, field: string, values: FieldValues): void {
    let cost = VALUE_OVERHEAD * values.length;
    for (const v of values) cost += 2 * v.length;
    let entry = scope.get(messageKey);
    if (cost + ENTRY_OVERHEAD > this.limit || entry?.fields.has(field)) return;
    if (!entry) {
      entry = { fields: new Map(), cost: ENTRY_OVERHEAD };
      scope.set(messageKey, entry);
      this.made.set(entry, [scope, messageKey]);
      this.bytes += ENTRY_OVERHEAD;
    }
    entry.fields.set(field, values);
    entry.cost += cost;
    this.bytes += cost;
    for (const [oldest, [s, key]] of this.made) {
      if (this.bytes <= this.limit) break;
      this.made.delete(oldest);
      s.delete(key);
      this.bytes -= oldest.cost;
      if (s.size === 0) for (const [name, other] of this.scopes) if (other === s) this.scopes.delete(name);
    }
  }

  /** Octets held (as estimated for the limit). */
  get held(): number {
    return this.bytes;
  }
}

export const searchFieldCache = new SearchFieldCache(SEARCH_FIELD_CACHE_BYTES);
