// SORT and UID SORT (RFC 5256 section 3; SORT=DISPLAY keys, RFC 5957; ESORT, RFC 5267 section 3):
//   SORT [RETURN (MIN MAX COUNT ALL PARTIAL m:n / -m:-n)] (criteria) charset search-keys
// The search keys are SEARCH's (parser and evaluator in search/); the keys come from the sort-key cache
// (sort/key-cache.ts), so a second SORT of a mailbox reads no file, and the same SORT of the same
// messages is answered from sort/answer-cache.ts. Without RETURN the answer is
// "* SORT n...", with it "* ESEARCH" whose MIN/MAX are the first/last of the sorted result and ALL is
// in sort order, ranges only where numbers ascend by one (RFC 5267 section 3.2), as Dovecot writes it.
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { checkCharset, SearchParser } from '../search/parse-search.js';
import { type PartialRange, partialBounds, partialRangeArg, partialText } from '../search/partial.js';
import { answerFor } from '../sort/answer.js';
import { parseSortCriteria, sortMessages } from '../sort/sort.js';
import { quotedString } from '../wire/encode.js';
import { formatOrdered } from '../wire/sequence-set.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { requireUid } from '../uidonly.js';

interface SortReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  /** PARTIAL m:n or -m:-n (RFC 5267 section 4.4, RFC 9394 section 3): positions in the sorted result. */
  partial: PartialRange | null;
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
    else if (opt === 'PARTIAL' && r.partial === null) {
      a.sp();
      r.partial = partialRangeArg(a);
    } else throw bad(`Unknown or repeated SORT RETURN option ${quoteClient(opt, 20)}`);
  }, 'the RETURN options');
  if (!any) r.all = true; // RETURN () means ALL (RFC 4731 section 3.1)
  if (r.all && r.partial) throw bad('RETURN takes ALL or PARTIAL, not both (RFC 9394 section 3.1)');
  return r;
}

/** The "* SORT" line of a kept answer (sort/answer-cache.ts), written once. */
const lines = new WeakMap<Int32Array, string>();

export async function sort(s: ImapContext, c: Command): Promise<void> {
  requireUid(s, c);
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
  const ids = await answerFor(m, key, {
    name: `SORT ${criteria.map((k) => `${k.reverse ? '-' : ''}${k.key}`).join(' ')}`,
    byUid: c.uid,
    arrival: criteria.some((k) => k.key === 'ARRIVAL'),
    make: (matches) => Int32Array.from(sortMessages(matches, criteria), (x) => x.id),
    octets: (answer) => answer.byteLength,
  });
  if (returns === null) {
    let line = lines.get(ids);
    if (line === undefined) lines.set(ids, (line = `* SORT${ids.length > 0 ? ` ${ids.join(' ')}` : ''}`));
    s.send(line);
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
    const slice = [...ids.subarray(...partialBounds(ids.length, returns.partial))];
    parts.push(`PARTIAL (${partialText(returns.partial)} ${slice.length > 0 ? formatOrdered(slice) : 'NIL'})`);
  }
  if (returns.count) parts.push(`COUNT ${ids.length}`);
  s.send(parts.join(' '));
}
