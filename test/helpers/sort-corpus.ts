// A mailbox made to exercise SORT and THREAD (RFC 5256): reply chains, References that are missing,
// looping or naming a message twice, duplicate and missing Message-IDs, In-Reply-To only, subjects with
// every kind of leader, trailer, blob and encoded word, dates in many zones and forms (some invalid or
// missing), address fields with groups, encoded and quoted names, and ties on every key. Used by the
// differential test against Dovecot (test/interop/imap-sort-dovecot.test.ts) and the protocol tests.

export interface SortCorpusMessage {
  /** The message, CRLF line ends. */
  raw: string;
  /** Its internal date (the file's mtime): whole seconds, some shared. */
  arrival: Date;
}

interface Spec {
  id?: string | null;
  refs?: string;
  irt?: string;
  subject?: string | null;
  date?: string | null;
  from?: string | null;
  to?: string | null;
  cc?: string;
  body?: string;
  arrival?: number;
}

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 2, 1, 12);

// Each spec is one message; arrival is days after BASE (ties on purpose).
const SPECS: Spec[] = [
  { id: '<a@x>', subject: 'Topic one', date: 'Mon, 4 Mar 2024 10:00:00 +0000', from: 'Zed <zed@z.example>', to: 'Bob <bob@b.example>' },
  { id: '<b@x>', refs: '<a@x>', subject: 'Re: Topic one', date: 'Mon, 4 Mar 2024 11:00:00 +0000', from: 'bob@b.example' },
  { id: '<c@x>', refs: '<a@x> <b@x>', subject: 'RE: [list] Topic one', date: 'Mon, 4 Mar 2024 09:30:00 -0200' },
  { id: '<d@x>', refs: '<a@x>\r\n <b@x>\r\n\t<c@x>', irt: '<zz@x>', subject: 'Re: Re: Topic one', date: 'Tue, 5 Mar 2024 08:00:00 +0100' },
  { id: '<e@x>', refs: '<missing1@x>', subject: 'Orphan reply', date: '5 Mar 2024 09:00 EST', from: '"Doe, John" <john@d.example>' },
  { id: '<f@x>', refs: '<missing1@x>', subject: 'Re: Orphan reply', date: 'Wed, 06 Mar 2024 09:00:00 PDT' },
  { id: '<g@x>', refs: '<missing2@x>', subject: 'Lonely child', date: 'Wed, 6 Mar 24 10:00:00 +0000' },
  { id: '<h@x>', refs: '<i@x>', subject: 'Loop h', date: 'Thu, 7 Mar 2024 10:00:00 +0000' },
  { id: '<i@x>', refs: '<h@x>', subject: 'Loop i', date: 'Thu, 7 Mar 2024 10:00:00 +0000' },
  { id: '<j@x>', refs: '<j@x>', subject: 'Self reference', date: 'Thu, 7 Mar 2024 10:00:00 +0000' },
  { id: '<dup@x>', subject: 'Duplicate one', date: 'Fri, 8 Mar 2024 10:00:00 +0000', from: 'Anna <anna@a.example>' },
  { id: '<dup@x>', subject: 'Duplicate two', date: 'Fri, 8 Mar 2024 09:00:00 +0000', from: 'anna <ANNA@a.example>' },
  { id: '<l@x>', refs: '<dup@x>', subject: 'Re: Duplicate one', date: 'Fri, 8 Mar 2024 11:00:00 +0000' },
  { id: null, subject: 'No message id', date: 'Sat, 9 Mar 2024 10:00:00 +0000' },
  { id: null, refs: '<a@x>', subject: 'Re: Topic one (fwd)', date: 'Sat, 9 Mar 2024 10:00:00 +0000' },
  { id: '<m@x>', irt: 'your message of yesterday <b@x> and more', subject: 'Fwd: Topic one', date: 'Sun, 10 Mar 2024 1:02:03 +0000' },
  { id: '<n@x>', refs: '<nope> <q@[1.2.3.4]> <"odd id"@x> <c@x>', subject: '[fwd: Topic one]', date: 'Sun, 10 Mar 2024 01.02.04 +0000' },
  { id: '<o@x>', refs: '<x1@x> <x2@x> <x3@x>', subject: 'Deep chain', date: 'Mon, 11 Mar 2024 10:00:00 +0000' },
  { id: '<x2@x>', subject: 'Deep middle', date: 'Mon, 11 Mar 2024 09:00:00 +0000' },
  { id: '<p@x>', refs: '<x3@x>', subject: 'Re: Deep chain', date: 'Mon, 11 Mar 2024 08:00:00 +0000' },
  { id: '<q1@x>', subject: 'Re: Fwd: [x] Re: hello', date: 'Tue, 12 Mar 2024 10:00:00 +0000' },
  { id: '<q2@x>', subject: 'hello', date: 'Tue, 12 Mar 2024 11:00:00 +0000' },
  { id: '<q3@x>', subject: '[a][b] Re: hello', date: 'Tue, 12 Mar 2024 09:00:00 +0000' },
  { id: '<q4@x>', subject: 'Re[2]: hello (fwd) (FWD)  ', date: 'Tue, 12 Mar 2024 12:00:00 +0000' },
  { id: '<q5@x>', subject: '[blob only]', date: 'Wed, 13 Mar 2024 10:00:00 +0000' },
  { id: '<q6@x>', subject: '[blob only]', date: 'Wed, 13 Mar 2024 10:00:00 +0000' },
  { id: '<q7@x>', subject: '', date: 'Wed, 13 Mar 2024 11:00:00 +0000' },
  { id: '<q8@x>', subject: null, date: 'Wed, 13 Mar 2024 11:00:00 +0000' },
  {
    id: '<q9@x>',
    subject: '=?utf-8?q?=C3=A9t=C3=A9?= summer',
    date: 'Thu, 14 Mar 2024 10:00:00 +0000',
    from: '=?utf-8?q?=C3=89mile?= <emile@e.example>',
  },
  {
    id: '<q10@x>',
    subject: 'Re: =?iso-8859-1?q?=E9t=E9?=   summer',
    date: 'Thu, 14 Mar 2024 11:00:00 +0000',
    from: '=?iso-8859-1?q?=E9mile?= <Emile@e.example>',
  },
  { id: '<q11@x>', subject: 'Re:\tTab\t\tseparated', date: 'Thu, 14 Mar 2024 12:00:00 +0000' },
  { id: '<q12@x>', subject: 're : spaced leader', date: 'Fri, 15 Mar 2024 10:00:00 +0000' },
  { id: '<q13@x>', subject: 'Fw[tag]: spaced leader', date: 'Fri, 15 Mar 2024 10:00:00 +0000' },
  { id: '<q14@x>', subject: '[unclosed blob Re: x', date: 'Fri, 15 Mar 2024 10:00:00 +0000' },
  { id: '<q15@x>', subject: '[fwd: [fwd: wrapped twice]]', date: 'Fri, 15 Mar 2024 11:00:00 +0000' },
  { id: '<q16@x>', subject: 'Re:', date: 'Fri, 15 Mar 2024 12:00:00 +0000' },
  { id: '<r1@x>', subject: 'No date', date: null, from: 'undisclosed-recipients:;', to: 'group: a@g.example, b@g.example;' },
  { id: '<r2@x>', subject: 'Bad date', date: 'yesterday afternoon', from: null, to: null },
  { id: '<r3@x>', subject: 'Impossible date', date: 'Thu, 31 Feb 2024 10:00:00 +0000', cc: 'Carl <carl@c.example>, dan@d.example' },
  { id: '<r4@x>', subject: 'Two digit year', date: '1 Jan 99 10:00:00 +0000', cc: 'aaron@a.example' },
  { id: '<r5@x>', subject: 'Comment date', date: 'Sat (a comment), 16 Mar 2024 10:00:00 +0000 (UTC)', from: 'x@y.example (Comment Name)' },
  { id: '<r6@x>', subject: 'No zone', date: 'Sat, 16 Mar 2024 10:00:00', from: '<>' },
  { id: '<r7@x>', subject: 'Military zone', date: 'Sat, 16 Mar 2024 10:00:00 A', from: 'Name Only' },
  { id: '<r8@x>', subject: 'Odd zone', date: 'Sat, 16 Mar 2024 10:00:00 XYZ', from: '"quoted local"@q.example' },
  { id: '<s1@x>', subject: 'Same date', date: 'Sun, 17 Mar 2024 10:00:00 +0000', from: 'same@s.example', arrival: 20 },
  { id: '<s2@x>', subject: 'Same date', date: 'Sun, 17 Mar 2024 10:00:00 +0000', from: 'same@s.example', arrival: 20 },
  { id: '<s3@x>', refs: '<s1@x>', subject: 'Re: Same date', date: 'Sun, 17 Mar 2024 10:00:00 +0000', arrival: 20 },
  { id: '<s4@x>', refs: '<s1@x>', subject: 'Re: Same date', date: 'Sun, 17 Mar 2024 10:00:00 +0000', arrival: 19 },
  { id: '<t1@x>', refs: '<u1@x>', subject: 'Subject merge', date: 'Mon, 18 Mar 2024 10:00:00 +0000' },
  { id: '<t2@x>', refs: '<u1@x>', subject: 'Re: Subject merge', date: 'Mon, 18 Mar 2024 11:00:00 +0000' },
  { id: '<t3@x>', subject: 'Re: Subject merge', date: 'Mon, 18 Mar 2024 09:00:00 +0000' },
  { id: '<t4@x>', subject: 'Subject merge', date: 'Mon, 18 Mar 2024 12:00:00 +0000' },
  { id: '<t5@x>', refs: '<u2@x>', subject: 'Subject merge', date: 'Mon, 18 Mar 2024 08:00:00 +0000' },
  { id: '<t6@x>', refs: '<u2@x>', subject: 'Other', date: 'Mon, 18 Mar 2024 08:30:00 +0000' },
  { id: '<v1@x>', subject: 'Re: reply first', date: 'Tue, 19 Mar 2024 08:00:00 +0000' },
  { id: '<v2@x>', subject: 'reply first', date: 'Tue, 19 Mar 2024 09:00:00 +0000' },
  { id: '<v3@x>', subject: 'Re: reply first', date: 'Tue, 19 Mar 2024 10:00:00 +0000' },
  {
    id: '<w1@x>',
    subject: 'Ärger über Öl',
    date: 'Wed, 20 Mar 2024 10:00:00 +0000',
    from: '"Ärger" <aerger@a.example>',
    to: 'Zoë <zoe@z.example>',
  },
  { id: '<w2@x>', subject: 'ärger über öl', date: 'Wed, 20 Mar 2024 10:00:00 +0000', from: 'Ómar <omar@o.example>', to: 'zoe@z.example' },
  { id: '<w3@x>', subject: '=?utf-8?b?UmU6IMOEcmdlciDDvGJlciDDlmw=?=', date: 'Wed, 20 Mar 2024 11:00:00 +0000' },
];

function header(name: string, value: string | null | undefined, fallback: string | null): string {
  const v = value === undefined ? fallback : value;
  return v === null ? '' : `${name}: ${v}\r\n`;
}

export function sortCorpus(): SortCorpusMessage[] {
  return SPECS.map((s, i) => {
    const raw =
      header('Message-ID', s.id, null) +
      header('References', s.refs, null) +
      header('In-Reply-To', s.irt, null) +
      header('From', s.from, `Sender ${i} <sender${i % 7}@example.net>`) +
      header('To', s.to, `rcpt${i % 5}@example.org`) +
      header('Cc', s.cc, null) +
      header('Subject', s.subject, null) +
      header('Date', s.date, null) +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
      `${s.body ?? `message ${i}\r\n${'x'.repeat((i * 37) % 23)}\r\n`}`;
    return { raw, arrival: new Date(BASE + (s.arrival ?? i % 17) * DAY) };
  });
}

/**
 * `count` messages drawn from a seeded generator: each may refer to earlier (or later, or unknown) ids
 * in References or In-Reply-To, in any order and with repeats; subjects from a small pool with random
 * leaders, blobs and trailers; dates from a small pool (many ties), some missing or broken; arrival
 * dates with ties. The same seed gives the same mailbox.
 */
export function randomSortCorpus(count: number, seed: number): SortCorpusMessage[] {
  let state = seed >>> 0 || 1;
  const rnd = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const pick = <T>(list: readonly T[]): T => list[rnd(list.length)];
  const subjects = ['alpha', 'beta', 'Gamma ray', 'délta', 'alpha beta', '', 'x'];
  const leaders = ['', '', 'Re: ', 'RE: ', 'Fwd: ', 'Fw: ', '[list] ', 'Re: [list] ', 'Re[2]: ', '[a] Re: [b] ', 're:re: '];
  const trailers = ['', '', ' (fwd)', '  ', ' (FWD) '];
  const dates = [
    'Mon, 1 Apr 2024 10:00:00 +0000',
    'Mon, 1 Apr 2024 12:00:00 +0200',
    'Mon, 1 Apr 2024 09:00:00 -0100',
    'Tue, 2 Apr 2024 10:00:00 +0000',
    'Wed, 3 Apr 2024 10:00:00 EST',
    'garbage',
    null,
  ];
  const id = (n: number) => `<r${n}@rand>`;
  return Array.from({ length: count }, (_, i) => {
    const lines: string[] = [];
    const own = rnd(10);
    if (own === 0) {
      /* no Message-ID */
    } else if (own === 1)
      lines.push(`Message-ID: ${id(rnd(count))}`); // maybe a duplicate
    else lines.push(`Message-ID: ${id(i)}`);
    const refs = rnd(4);
    if (refs > 0) {
      const list = Array.from({ length: refs + rnd(3) }, () => id(rnd(count + 5)));
      if (rnd(3) === 0) lines.push(`In-Reply-To: ${list[list.length - 1]}`);
      else lines.push(`References: ${list.join(rnd(2) === 0 ? ' ' : '\r\n ')}`);
    }
    lines.push(`From: p${rnd(5)}@rand.example`);
    const subject = pick(subjects);
    if (subject !== 'x') lines.push(`Subject: ${pick(leaders)}${subject}${pick(trailers)}`);
    const date = pick(dates);
    if (date !== null) lines.push(`Date: ${date}`);
    const raw = `${lines.join('\r\n')}\r\n\r\nbody ${i}\r\n`;
    return { raw, arrival: new Date(BASE + rnd(6) * DAY) };
  });
}
