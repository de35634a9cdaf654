// SORT and UID SORT (RFC 5256 section 3; SORT=DISPLAY keys, RFC 5957; ESORT, RFC 5267 section 3):
//   SORT [RETURN (MIN MAX COUNT ALL PARTIAL m:n)] (criteria) charset search-keys
// The search keys are SEARCH's (parser and evaluator in search/); the keys come from the sort-key cache
// (sort/key-cache.ts), so a second SORT of a mailbox reads no file, and the same SORT of the same
// messages is answered from sort/answer-cache.ts. Without RETURN the answer is
// "* SORT n...", with it "* ESEARCH" whose MIN/MAX are the first/last of the sorted result and ALL is
// in sort order, ranges only where numbers ascend by one (RFC 5267 section 3.2), as Dovecot writes it.
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { matchingUids } from '../search/run-search.js';
import { checkCharset, SearchParser } from '../search/parse-search.js';
import { answerCache } from '../sort/answer-cache.js';
import { sortKeyCache } from '../sort/key-cache.js';
import { parseSortCriteria, sortMessages } from '../sort/sort.js';
import { quotedString } from '../wire/encode.js';
import { formatOrdered } from '../wire/sequence-set.js';
import { quoteClient } from '../../../sessions/client-text.js';

interface SortReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  /** PARTIAL m:n (RFC 5267 section 4.4): positions in the sorted result, 1-based, m <= n. */
  partial: [number, number] | null;
}

function parseReturn(c: Command): SortReturn {
  const a = c.args;
  const r: SortReturn = { min: false, max: false, all: false, count: false, partial: null };
  let any = false;
  a.list(() => {
    const opt = a.atom('a RETURN option').toUpperCase();
    any = true;
    if (opt === 'MIN') r.min = true;
    else if (opt === 'MAX') r.max = true;
    else if (opt === 'ALL') r.all = true;
    else if (opt === 'COUNT') r.count = true;
    else if (opt === 'PARTIAL') {
      a.sp();
      const range = /^([1-9]\d{0,9}):([1-9]\d{0,9})$/.exec(a.atom('a PARTIAL range such as 1:100'));
      if (!range) throw bad('PARTIAL needs a range of positions such as 1:100');
      const from = Number(range[1]);
      const to = Number(range[2]);
      r.partial = from <= to ? [from, to] : [to, from];
    } else throw bad(`Unknown SORT RETURN option ${quoteClient(opt, 20)}`);
  }, 'the RETURN options');
  if (!any) r.all = true; // RETURN () means ALL (RFC 4731 section 3.1)
  return r;
}

export async function sort(s: ImapContext, c: Command): Promise<void> {
  const a = c.args;
  a.sp();
  let returns: SortReturn | null = null;
  if (a.peekAtom('RETURN')) {
    a.atom();
    a.sp();
    returns = parseReturn(c);
    a.sp();
  }
  const criteria = parseSortCriteria(a);
  a.sp();
  checkCharset(a.astring('a charset name'));
  a.sp();
  const m = s.selected();
  const key = new SearchParser(a, m).keys();
  const uids = await matchingUids(m, key);
  const seqs = uids.map((uid) => m.seqOf(uid));
  const cacheKey = `SORT ${c.uid ? 'UID' : 'SEQ'} ${criteria.map((k) => `${k.reverse ? '-' : ''}${k.key}`).join(' ')}`;
  let ids = answerCache.get<Int32Array>(m.view, cacheKey, uids, c.uid ? null : seqs);
  if (ids === undefined) {
    const keys = await sortKeyCache.keysOf(
      m.view,
      uids.map((uid) => m.info(uid) ?? { uid, key: '', size: 0, flags: new Set<string>() }),
      criteria.some((k) => k.key === 'ARRIVAL'),
    );
    const sorted = sortMessages(
      uids.map((uid, i) => ({ uid, seq: seqs[i], keys: keys[i] })),
      criteria,
    );
    ids = Int32Array.from(sorted, (x) => (c.uid ? x.uid : x.seq));
    answerCache.set(m.view, cacheKey, uids, c.uid ? null : seqs, ids, ids.byteLength);
  }
  if (returns === null) {
    s.send(`* SORT${ids.length > 0 ? ` ${ids.join(' ')}` : ''}`);
    return;
  }
  const parts = [`* ESEARCH (TAG ${quotedString(c.tag)})`];
  if (c.uid) parts.push('UID');
  if (ids.length > 0) {
    if (returns.min) parts.push(`MIN ${ids[0]}`);
    if (returns.max) parts.push(`MAX ${ids[ids.length - 1]}`);
    if (returns.all) parts.push(`ALL ${formatOrdered([...ids])}`);
  }
  if (returns.partial) {
    const [from, to] = returns.partial;
    const slice = [...ids.subarray(from - 1, to)];
    parts.push(`PARTIAL (${from}:${to} ${slice.length > 0 ? formatOrdered(slice) : 'NIL'})`);
  }
  if (returns.count) parts.push(`COUNT ${ids.length}`);
  s.send(parts.join(' '));
}
