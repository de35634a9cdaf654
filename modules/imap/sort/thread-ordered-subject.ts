// THREAD ORDEREDSUBJECT (RFC 5256 section 4): the messages sorted by base subject, then sent date; each
// run of one base subject is a thread whose first message is the parent of all the others; threads are
// ordered by their first message's sent date. Ties (RFC: unspecified) go by message number, as Dovecot
// breaks them. Written as Dovecot writes it: "(a)", "(a b)", "(a (b)(c))".
import { sortMessages, type Sortable } from './sort.js';

export interface Threadable extends Sortable {
  /** What the answer shows: the message number, or the UID for UID THREAD. */
  readonly id: number;
}

export function orderedSubjectThreads(items: readonly Threadable[], _ids?: unknown): string {
  const sorted = sortMessages(items, [
    { key: 'SUBJECT', reverse: false },
    { key: 'DATE', reverse: false },
  ]);
  const threads: Threadable[][] = [];
  let current: Threadable[] | null = null;
  for (const m of sorted) {
    if (current === null || current[0].keys.subject !== m.keys.subject) threads.push((current = []));
    current.push(m);
  }
  threads.sort((a, b) => a[0].keys.date - b[0].keys.date || a[0].id - b[0].id);
  let out = '';
  for (const t of threads) {
    if (t.length === 1) out += `(${t[0].id})`;
    else if (t.length === 2) out += `(${t[0].id} ${t[1].id})`;
    else
      out += `(${t[0].id} ${t
        .slice(1)
        .map((m) => `(${m.id})`)
        .join('')})`;
  }
  return out;
}
