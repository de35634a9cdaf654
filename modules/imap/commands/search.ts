// SEARCH and UID SEARCH (RFC 9051 section 6.4.4, ESEARCH RFC 4731): the key tree is parsed, compiled
// once (search/evaluate.ts: flag, size and UID keys run synchronously, without reading any message),
// then run over the messages as the client knows them. IMAP4rev1 clients get "* SEARCH"; IMAP4rev2
// clients and RETURN (...) get "* ESEARCH"; RETURN (PARTIAL m:n) pages the matches (RFC 9394).
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { matchingUids } from '../search/run-search.js';
import { checkCharset, SearchParser } from '../search/parse-search.js';
import { type PartialRange, partialOf, partialRangeArg, partialText } from '../search/partial.js';
import { quotedString } from '../wire/encode.js';
import { formatSet } from '../wire/sequence-set.js';
import { enableCondstore } from '../condstore.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { requireUid } from '../uidonly.js';

const RETURN_OPTIONS = ['MIN', 'MAX', 'ALL', 'COUNT', 'PARTIAL'] as const;
type ReturnOption = (typeof RETURN_OPTIONS)[number];

export async function search(s: ImapContext, c: Command): Promise<void> {
  requireUid(s, c);
  const a = c.args;
  a.sp();
  let returns: ReturnOption[] | null = null;
  let partial: PartialRange | null = null;
  if (a.peekAtom('RETURN')) {
    a.atom();
    a.sp();
    const opts: ReturnOption[] = [];
    a.list(() => {
      const opt = a.atom('a RETURN option').toUpperCase() as ReturnOption;
      if (!RETURN_OPTIONS.includes(opt))
        throw bad(
          `Unknown SEARCH RETURN option ${quoteClient(opt, 20)}${opt === ('SAVE' as string) ? ' (SEARCHRES is not supported)' : ''}`,
        );
      if (opt === 'PARTIAL') {
        // RFC 9394 section 3.1: one range, counted from the first match or (negative) from the last
        if (partial !== null) throw bad('RETURN takes one PARTIAL');
        a.sp();
        partial = partialRangeArg(a);
      }
      opts.push(opt);
    }, 'the RETURN options');
    returns = opts.length === 0 ? ['ALL'] : opts;
    if (partial && returns.includes('ALL')) throw bad('RETURN takes ALL or PARTIAL, not both (RFC 9394 section 3.1)');
    a.sp();
  }
  if (a.peekAtom('CHARSET')) {
    // RFC 9755 section 3: after ENABLE UTF8=ACCEPT every string is UTF-8, and a CHARSET would contradict it
    if (s.enabled.has('UTF8=ACCEPT')) throw bad('No CHARSET after ENABLE UTF8=ACCEPT: search strings are UTF-8');
    a.atom();
    a.sp();
    checkCharset(a.astring('a charset name'));
    a.sp();
  }
  const m = s.selected();
  const parser = new SearchParser(a, m);
  const key = parser.keys();
  if (parser.usesModseq) enableCondstore(s); // RFC 7162 section 3.1: a CONDSTORE enabling command
  const uids = await matchingUids(m, key);
  const hits = c.uid ? uids : uids.map((uid) => m.seqOf(uid));
  // RFC 7162 sections 3.1.6 and 3.1.10: after a MODSEQ key, the highest modseq of the messages found (looked up
  // only then: for each of a SEARCH FROM's 334 hits in 100,000 messages it was a tenth of the command)
  const withModseq = parser.usesModseq && hits.length > 0;
  let highest = 0;
  if (withModseq) for (const uid of uids) highest = Math.max(highest, m.info(uid)?.modseq ?? 0);
  if (returns === null && !s.rev2) {
    s.send(`* SEARCH${hits.map((n) => ` ${n}`).join('')}${withModseq ? ` (MODSEQ ${highest})` : ''}`);
    return;
  }
  const wanted = returns ?? ['ALL'];
  const parts = [`(TAG ${quotedString(c.tag)})`];
  if (c.uid) parts.push('UID');
  if (hits.length > 0) {
    if (wanted.includes('MIN')) parts.push(`MIN ${hits[0]}`);
    if (wanted.includes('MAX')) parts.push(`MAX ${hits[hits.length - 1]}`);
    if (wanted.includes('ALL')) parts.push(`ALL ${formatSet(hits)}`);
  }
  if (partial) {
    const some = partialOf(hits, partial);
    parts.push(`PARTIAL (${partialText(partial)} ${some.length > 0 ? formatSet(some) : 'NIL'})`);
  }
  if (wanted.includes('COUNT')) parts.push(`COUNT ${hits.length}`);
  if (withModseq) parts.push(`MODSEQ ${highest}`);
  s.send(`* ESEARCH ${parts.join(' ')}`);
}
