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

/**
 * One message's kept fields: the first inline, any more beside it. A Map per message was most of a warm SEARCH FROM's
 * check of its 334 candidates over 100,000 messages (each lookup a walk through two hash tables far apart in memory).
 */
class Entry {
  more: [string, FieldValues][] | null = null;
  constructor(
    readonly name: string,
    readonly values: FieldValues,
    public cost: number,
  ) {}

  get(name: string): FieldValues | undefined {
    if (this.name === name) return this.values;
    if (this.more !== null) for (const [n, v] of this.more) if (n === name) return v;
    return undefined;
  }
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
    return scope.get(messageKey)?.get(field);
  }

  set(scope: FieldScope, messageKey: string, field: string, values: FieldValues): void {
    let cost = VALUE_OVERHEAD * values.length;
    for (const v of values) cost += 2 * v.length;
    const entry = scope.get(messageKey);
    if (cost + ENTRY_OVERHEAD > this.limit || entry?.get(field) !== undefined) return;
    if (!entry) {
      const made = new Entry(field, values, ENTRY_OVERHEAD + cost);
      scope.set(messageKey, made);
      this.made.set(made, [scope, messageKey]);
      this.bytes += ENTRY_OVERHEAD + cost;
    } else {
      (entry.more ??= []).push([field, values]);
      entry.cost += cost;
      this.bytes += cost;
    }
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
