// What SORT and THREAD share: the messages the search keys select, their numbers and sort keys, and
// the answer made of them, from the answer cache when the same messages match with the same numbers.
import { matchingUids } from '../search/run-search.js';
import type { SearchKey } from '../search/search-key.js';
import type { SelectedMailbox } from '../selected.js';
import { answerCache } from './answer-cache.js';
import { sortKeyCache } from './key-cache.js';
import type { Threadable } from './thread-ordered-subject.js';

export interface Match extends Threadable {
  readonly uid: number;
}

export interface AnswerSpec<T> {
  /** Names the answer among the mailbox's others ("SORT DATE", "THREAD REFERENCES"). */
  readonly name: string;
  /** UID SORT/THREAD: the answer shows UIDs (Match.id is the UID), else message numbers. */
  readonly byUid: boolean;
  /** Every message's internal date is needed (ARRIVAL). */
  readonly arrival: boolean;
  readonly make: (matches: Match[]) => T;
  /** Octets the answer holds (for the cache's bound). */
  readonly octets: (answer: T) => number;
}

export async function answerFor<T>(m: SelectedMailbox, key: SearchKey, spec: AnswerSpec<T>): Promise<T> {
  const uids = await matchingUids(m, key);
  // the matches come in map order: their numbers in one walk along the map
  const seqs: number[] = new Array(uids.length);
  for (let i = 0, j = 0; i < uids.length; i++) {
    while (j < m.uids.length && m.uids[j] !== uids[i]) j++;
    seqs[i] = j < m.uids.length ? ++j : m.seqOf(uids[i]);
  }
  const name = `${spec.name} ${spec.byUid ? 'UID' : 'SEQ'}`;
  const kept = answerCache.get<T>(m.view, name, uids, spec.byUid ? null : seqs);
  if (kept !== undefined) return kept;
  const keys = await sortKeyCache.keysOf(
    m.view,
    // every message in the map is known to it; a key of its own all the same, should one not be
    uids.map((uid) => m.info(uid) ?? { uid, key: `\0unknown ${uid}`, size: 0, modseq: 0, flags: new Set<string>() }),
    spec.arrival,
  );
  const answer = spec.make(uids.map((uid, i) => ({ uid, seq: seqs[i], id: spec.byUid ? uid : seqs[i], keys: keys[i] })));
  answerCache.set(m.view, name, uids, spec.byUid ? null : seqs, answer, spec.octets(answer));
  return answer;
}
