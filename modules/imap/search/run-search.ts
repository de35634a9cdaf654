// A parsed SEARCH key run over the selected mailbox as its client knows it: the UIDs that match, in
// message-number order. For the commands that search before they do something else with the result
// (SORT and THREAD, RFC 5256: "the searching criteria ... as in SEARCH") and for SEARCH itself.
import { type MailboxView, MessageGoneError, type SearchIndexAnswer } from '../../../store/contract.js';
import { toCrlf } from '../../../lib/crlf.js';
import type { SelectedMailbox } from '../selected.js';
import { compileSearch, SEARCH_HEADER_MAX, type SearchMessage } from './evaluate.js';
import type { SearchKey } from './search-key.js';
import { narrowByIndex } from './index-query.js';
import { type FieldScope, searchFieldCache } from './field-cache.js';

/**
 * Messages up to this size are read whole in place (view.readNow: from the page cache, without the thread
 * pool's round trips, as FETCH and SORT read them), for a header key too: a SEARCH SUBJECT over 300
 * messages made about 8,500 system calls through the pool, 28 a message (Dovecot: 60 in all, from its cache).
 */
const IN_PLACE_MAX = 256 * 1024;

/** readNow's bytes with CRLF line ends, in a buffer of their own (the next readNow reuses its buffer; a search keeps them). */
function crlfCopy(bytes: Buffer): Buffer {
  const crlf = toCrlf(bytes);
  return crlf === bytes ? Buffer.from(bytes) : crlf;
}

/**
 * What the index leaves to check, in UID order: the messages it does not hold and its candidates in the session's
 * list. A mailbox of 100,000 messages, all held, is not walked: a SEARCH that narrows to 7 checks 7.
 */
function toCheck(m: SelectedMailbox, narrowed: SearchIndexAnswer): number[] {
  const missing = narrowed.unindexed(m.uids);
  const candidates = [...narrowed.candidates].filter((uid) => m.seqOf(uid) !== 0).sort((a, b) => a - b);
  const merged: number[] = [];
  let i = 0;
  let j = 0;
  while (i < missing.length || j < candidates.length) {
    const a = i < missing.length ? missing[i] : Number.POSITIVE_INFINITY;
    const b = j < candidates.length ? candidates[j] : Number.POSITIVE_INFINITY;
    merged.push(Math.min(a, b));
    if (a <= b) i++;
    if (b <= a) j++;
  }
  return merged;
}

/**
 * One message as the evaluator reads it: a class rather than an object of closures, made for each candidate (a
 * SEARCH FROM over 100,000 messages that the index narrows to 334 answers from the field cache, where the six
 * closures per message and an await per answer were a tenth of the command's work).
 */
class CandidateMessage implements SearchMessage {
  constructor(
    readonly uid: number,
    readonly size: number,
    readonly flags: ReadonlySet<string>,
    readonly modseq: number | undefined,
    private readonly key: string,
    private readonly view: MailboxView,
    private readonly fields: FieldScope,
  ) {}

  cachedField(name: string): readonly string[] | undefined {
    return searchFieldCache.get(this.fields, this.key, name);
  }

  keepField(name: string, values: readonly string[]): void {
    searchFieldCache.set(this.fields, this.key, name, values);
  }

  internalDate(): Promise<Date> {
    return this.view.internalDate(this.uid);
  }

  saveDate(): Promise<Date> {
    return this.view.saveDate(this.uid);
  }

  async header(): Promise<Buffer> {
    const whole = this.size <= IN_PLACE_MAX ? this.view.readNow(this.uid) : null;
    return whole ? crlfCopy(whole) : toCrlf(await this.view.readHeader(this.uid, SEARCH_HEADER_MAX)); // parseHeader stops at the blank line
  }

  async raw(): Promise<Buffer> {
    const whole = this.size <= IN_PLACE_MAX ? this.view.readNow(this.uid) : null;
    if (whole) return crlfCopy(whole);
    const parts: Buffer[] = [];
    for await (const chunk of await this.view.open(this.uid)) parts.push(chunk as Buffer);
    return toCrlf(Buffer.concat(parts));
  }
}

export async function matchingUids(m: SelectedMailbox, key: SearchKey): Promise<number[]> {
  if (key.kind === 'all') return m.uids.slice(); // every message in the map is known to it
  const compiled = compileSearch(key);
  const hits: number[] = [];
  const view = m.view;
  const fields = searchFieldCache.scope(view);
  // the mailbox's index leaves out messages that cannot match; the rest are checked below (index-query.ts)
  const narrowed = compiled.sync ? null : await narrowByIndex(view, key);
  for (const uid of narrowed ? toCheck(m, narrowed) : m.uids) {
    const info = m.info(uid);
    if (!info) continue;
    const flags = m.searchFlags(info);
    let hit: boolean;
    if (compiled.sync) hit = compiled.test(flags === info.flags ? info : { uid, size: info.size, flags, modseq: info.modseq });
    else {
      try {
        // a key answered from memory (the field cache, the flags) gives a plain boolean: no await
        const answer = compiled.test(new CandidateMessage(uid, info.size, flags, info.modseq, info.key, view, fields));
        if (typeof answer === 'boolean') hit = answer;
        else hit = await answer;
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
        hit = false; // removed meanwhile: its contents are gone
      }
    }
    if (hit) hits.push(uid);
  }
  return hits;
}
