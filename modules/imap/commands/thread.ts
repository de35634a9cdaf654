// THREAD and UID THREAD (RFC 5256 section 4): THREAD algorithm charset search-keys, with the algorithms
// ORDEREDSUBJECT (sort/thread-ordered-subject.ts) and REFERENCES (sort/thread-references.ts) over the
// messages the search keys select (sort/answer.ts: the keys from the sort-key cache, the same THREAD of
// the same messages from the answer cache). As Dovecot writes it, the answer is "* THREAD " followed by
// the threads (so "* THREAD " when none match).
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';
import { checkCharset, SearchParser } from '../search/parse-search.js';
import { answerFor } from '../sort/answer.js';
import { sortKeyCache } from '../sort/key-cache.js';
import { orderedSubjectThreads } from '../sort/thread-ordered-subject.js';
import { referencesThreads } from '../sort/thread-references.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { requireUid } from '../uidonly.js';

const ALGORITHMS = { ORDEREDSUBJECT: orderedSubjectThreads, REFERENCES: referencesThreads };

export async function thread(s: ImapContext, c: Command): Promise<void> {
  requireUid(s, c);
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
  const answer = await answerFor(m, key, {
    name: `THREAD ${name}`,
    byUid: c.uid,
    arrival: false,
    make: (matches) => algorithm(matches, sortKeyCache.idTable(m.view)),
    octets: (threads) => threads.length * 2,
  });
  s.send(`* THREAD ${answer}`);
}
