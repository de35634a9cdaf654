// THREAD and UID THREAD (RFC 5256 section 4): THREAD algorithm charset search-keys, with the algorithms
// ORDEREDSUBJECT (sort/thread-ordered-subject.ts) and REFERENCES (sort/thread-references.ts) over the
// messages the search keys select. The keys come from the sort-key cache (sort/key-cache.ts), the same
// THREAD of the same messages from sort/answer-cache.ts. As Dovecot
// writes it, the answer is "* THREAD " followed by the threads (so "* THREAD " when none match).
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { matchingUids } from '../search/run-search.js';
import { checkCharset, SearchParser } from '../search/parse-search.js';
import { answerCache } from '../sort/answer-cache.js';
import { sortKeyCache } from '../sort/key-cache.js';
import { orderedSubjectThreads } from '../sort/thread-ordered-subject.js';
import { referencesThreads } from '../sort/thread-references.js';
import { quoteClient } from '../../../sessions/client-text.js';

const ALGORITHMS = { ORDEREDSUBJECT: orderedSubjectThreads, REFERENCES: referencesThreads };

export async function thread(s: ImapContext, c: Command): Promise<void> {
  const a = c.args;
  a.sp();
  const name = a.astring('a threading algorithm').toUpperCase();
  const algorithm = ALGORITHMS[name as keyof typeof ALGORITHMS];
  if (algorithm === undefined) throw bad(`Unknown threading algorithm ${quoteClient(name, 30)} (ORDEREDSUBJECT and REFERENCES are)`);
  a.sp();
  checkCharset(a.astring('a charset name'));
  a.sp();
  const m = s.selected();
  const key = new SearchParser(a, m).keys();
  const uids = await matchingUids(m, key);
  const seqs = uids.map((uid) => m.seqOf(uid));
  const cacheKey = `THREAD ${c.uid ? 'UID' : 'SEQ'} ${name}`;
  let answer = answerCache.get<string>(m.view, cacheKey, uids, c.uid ? null : seqs);
  if (answer === undefined) {
    const keys = await sortKeyCache.keysOf(
      m.view,
      uids.map((uid) => m.info(uid) ?? { uid, key: '', size: 0, flags: new Set<string>() }),
      false,
    );
    const items = uids.map((uid, i) => ({ seq: seqs[i], id: c.uid ? uid : seqs[i], keys: keys[i] }));
    answer = algorithm(items, sortKeyCache.idTable(m.view));
    answerCache.set(m.view, cacheKey, uids, c.uid ? null : seqs, answer, answer.length * 2);
  }
  s.send(`* THREAD ${answer}`);
}
