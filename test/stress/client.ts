// One stress client: it signs in, runs imaptest's default mix on its mailbox for a few rounds, signs out
// and starts again until the run ends. Every response goes through the checks of model.ts against this
// session's view of the mailbox; what breaks a rule is reported with the client, the command and the line.
//
// With pipelining a client sends up to three commands before reading their answers. Commands that name
// messages by sequence number (FETCH, STORE, SEARCH) are only ever in flight together, never with a
// command during which the server may send EXPUNGE, so the numbers the client sent stay meaningful
// (RFC 3501 5.5).
import { hash, type MailboxState, type Message, type OwnStore, SYSTEM_FLAGS, type Violations } from './model.js';
import { canonical, type InFlight, type Item, Parser, Quoted, type Response, type Tagged, text, Wire } from './wire.js';

export const SHARED_KEYWORDS = ['$Label1', '$Label2', '$Label3', 'kwAlpha', 'kwBeta', 'kwGamma'];
const RANDOM_SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Draft'];

export interface RunStats {
  commands: number;
  /** The slowest answer (ms from sending to the tagged line) and its command. */
  slowestMs: number;
  slowest: string;
  sessions: number;
  appends: number;
  expunged: number;
}

interface Op {
  /** "seq": names messages by sequence number (no EXPUNGE may arrive while it runs). */
  category: 'seq' | 'other';
  line: string;
  literal?: Buffer;
  /** Called just before sending. */
  before?: () => void;
  /** Called with the tagged answer (whatever its status) once its untagged responses are in. */
  after?: (t: Tagged, sentAt: number) => void;
  /** The answer may be NO when another session expunged one of the messages it names. */
  mayBeExpunged?: boolean;
}

const rand = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];

/** "1:3,7,9:10" */
export function setOf(numbers: number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** With STRESS_DEBUG=1, an owned keyword's history (times relative to `at`) for a report. */
function debugHistory(history: OwnStore[], at: number): string {
  if (!process.env.STRESS_DEBUG) return '';
  const t = (x?: number) => (x === undefined ? '…' : Math.round(x - at));
  return ` [history: ${history.map((s) => `${s.value}@${t(s.startedAt)}..${t(s.okAt)}`).join(', ')}]`;
}

let messageCounter = 0;

/** A message with a unique Message-ID and a body of random size (CRLF line ends, as IMAP wants). */
export function makeMessage(from: string): Buffer {
  const n = ++messageCounter;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'épsilon', 'zeta', 'eta', 'theta'];
  const lines: string[] = [];
  const bodyLines = 2 + rand(60);
  for (let i = 0; i < bodyLines; i++) lines.push(Array.from({ length: 1 + rand(12) }, () => pick(words)).join(' '));
  const subject = `Stress ${n} ${pick(words)}`;
  const head = [
    `From: "Stress ${from}" <${from}@example.org>`,
    `To: Receiver <receiver@example.org>${rand(3) === 0 ? ', "Other, Person" <other@example.net>' : ''}`,
    `Subject: ${subject}`,
    `Date: Tue, 01 Dec 2026 ${String(rand(24)).padStart(2, '0')}:${String(rand(60)).padStart(2, '0')}:00 +0100`,
    `Message-ID: <stress.${process.pid}.${n}.${rand(1e9)}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${lines.join('\r\n')}\r\n`, 'utf8');
}

export class StressClient {
  private wire: Wire | null = null;
  private state: 'none' | 'auth' | 'selected' | 'logout' = 'none';
  private msgs: Message[] = [];
  /** The session's FLAGS: the keywords it was told about. */
  private flags = new Set<string>();
  /** mailbox.expungesSent when this session was last told every expunge (SELECT, NOOP, EXPUNGE). */
  private expungesKnownAt = 0;
  private selectSeen = { flags: false, exists: false, uidValidity: false, uidNext: false };
  private maxUidAtSelect = 0;
  private maxUidAtStatus = 0;
  /** Whether the LIST in progress named this client's mailbox. */
  private listed = false;
  private stopAt = 0;

  constructor(
    readonly label: string,
    readonly mailbox: MailboxState,
    readonly ownKeyword: string | null,
    private readonly pipeline: boolean,
    private readonly port: number,
    private readonly violations: Violations,
    private readonly stats: RunStats,
  ) {}

  private violation(problem: string, line: string, command: string | readonly InFlight[]): void {
    const cmd = typeof command === 'string' ? command : command.map((c) => `${c.tag} ${c.line}`).join(' | ') || '(no command in flight)';
    this.violations.add({ client: this.label, command: cmd, line: line.slice(0, 300), problem });
  }

  /** Runs sessions until `stopAt` (performance.now() ms). */
  async run(stopAt: number): Promise<void> {
    this.stopAt = stopAt;
    while (performance.now() < stopAt) {
      try {
        await this.session();
      } catch (err) {
        this.violation(`session broke off: ${(err as Error).message}`, '', this.wire?.inFlight ?? []);
        this.wire?.close();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * After the run: a fresh session fetches everything of the mailbox, so the messages no client looked
   * at lately are checked too (UIDs ascending, static data and appended bodies, one UID per Message-ID).
   */
  async audit(): Promise<void> {
    try {
      const { wire } = await Wire.connect(this.port, `${this.label}.`);
      this.wire = wire;
      wire.onUntagged = (r, inFlight) => this.onUntagged(r, inFlight);
      const m = this.mailbox;
      await this.run1({
        category: 'other',
        line: `LOGIN "${m.user}" "${m.password}"`,
        after: (t) => t.status === 'OK' && (this.state = 'auth'),
      });
      await this.select();
      await this.run1({ category: 'other', line: 'UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE INTERNALDATE BODY.PEEK[])' });
      this.state = 'logout';
      await wire.send('LOGOUT');
      wire.close();
    } catch (err) {
      this.violation(`audit session broke off: ${(err as Error).message}`, '', this.wire?.inFlight ?? []);
      this.wire?.close();
    }
  }

  private async session(): Promise<void> {
    const { wire, greeting } = await Wire.connect(this.port, `${this.label}.`);
    this.wire = wire;
    this.state = 'none';
    wire.onUntagged = (r, inFlight) => this.onUntagged(r, inFlight);
    wire.onClose = (err) => {
      if (this.state !== 'logout') this.violation(`connection closed unexpectedly: ${err.message}`, '', wire.inFlight);
    };
    if (!greeting.text.startsWith('* OK')) this.violation('greeting is not * OK', greeting.text, 'greeting');
    this.stats.sessions++;
    const m = this.mailbox;
    await this.run1({
      category: 'other',
      line: `LOGIN "${m.user}" "${m.password}"`,
      after: (t) => t.status === 'OK' && (this.state = 'auth'),
    });
    const list: Op = {
      category: 'other',
      line: 'LIST "" "*"',
      before: () => (this.listed = false),
      after: (t) => {
        if (t.status === 'OK' && !this.listed) this.violation(`LIST "" "*" does not list ${m.name}`, t.line, 'LIST "" "*"');
      },
    };
    const status: Op = {
      category: 'other',
      line: `STATUS "${m.name}" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)`,
      before: () => (this.maxUidAtStatus = m.maxUid),
    };
    if (this.pipeline) await this.batch([list, status]);
    else {
      await this.run1(list);
      await this.run1(status);
    }
    await this.select();
    const rounds = 3 + rand(5);
    for (let round = 0; round < rounds && performance.now() < this.stopAt && !wire.isClosed; round++) {
      if (this.pipeline) {
        const first = this.randomOp();
        if (!first) continue;
        const ops = [first];
        for (let tries = 0; ops.length < 3 && tries < 6; tries++) {
          const next = this.randomOp(first.category);
          if (next) ops.push(next);
        }
        await this.batch(ops);
      } else {
        const op = this.randomOp();
        if (op) await this.run1(op);
      }
      await this.recheck();
      if (round % 2 === 1) await this.run1(this.noop());
      await this.recheck();
    }
    this.state = 'logout';
    const t = await wire.send('LOGOUT');
    this.stats.commands++;
    if (t.status !== 'OK') this.violation('LOGOUT not answered OK', t.line, 'LOGOUT');
    wire.close();
  }

  private async run1(op: Op): Promise<void> {
    await this.batch([op]);
  }

  /** Sends the ops at once (one op without pipelining) and checks each tagged answer. */
  private async batch(ops: (Op | null)[]): Promise<void> {
    const wire = this.wire!;
    const answers: Promise<Tagged>[] = [];
    for (const op of ops) {
      if (!op) continue;
      op.before?.();
      const sentAt = performance.now();
      answers.push(
        wire.send(op.line, op.literal, (t) => {
          this.stats.commands++;
          const ms = performance.now() - sentAt;
          if (ms > this.stats.slowestMs) {
            this.stats.slowestMs = ms;
            this.stats.slowest = op.line.startsWith('LOGIN') ? 'LOGIN' : op.line;
          }
          this.checkTagged(op, t, sentAt);
          op.after?.(t, sentAt);
        }),
      );
    }
    await Promise.all(answers);
  }

  private checkTagged(op: Op, t: Tagged, sentAt: number): void {
    const command = `${t.tag} ${op.line}${op.literal ? ` {${op.literal.length}+}` : ''}`;
    if (t.status === 'OK') return;
    const words = op.line.split(' ');
    const name = words[0] === 'UID' ? `UID ${words[1]}` : words[0];
    if (t.status === 'BAD') {
      this.violation(`${name} answered BAD`, t.line, command);
      return;
    }
    if (/\[SERVERBUG\]/i.test(t.rest)) {
      this.violation(`${name} answered NO [SERVERBUG]`, t.line, command);
      return;
    }
    if (t.status === 'NO' && op.mayBeExpunged && this.expungePossible(sentAt)) return;
    this.violation(`${name} answered ${t.status} where the model expects OK`, t.line, command);
  }

  /** Whether another session may have expunged messages this session has not been told about yet. */
  private expungePossible(_sentAt: number): boolean {
    return this.mailbox.expungesSent > this.expungesKnownAt;
  }

  /**
   * Wraps a command after which the session knows of every expunge answered before it was sent (SELECT,
   * NOOP, EXPUNGE): RFC 3501 7.4.1 lets the server send EXPUNGE then.
   */
  private syncing(op: Op): Op {
    let answeredBefore = 0;
    const { before, after } = op;
    return {
      ...op,
      before: () => {
        answeredBefore = this.mailbox.expungesCompleted;
        before?.();
      },
      after: (t, sentAt) => {
        if (t.status === 'OK') this.expungesKnownAt = answeredBefore;
        after?.(t, sentAt);
      },
    };
  }

  // ---- the mix ----

  private randomOp(category?: 'seq' | 'other'): Op | null {
    const n = this.msgs.length;
    const kinds: [number, () => Op | null][] = [
      [20, () => this.fetchMeta(category)],
      [10, () => this.fetchBody(category)],
      [20, () => this.store(category)],
      [n > 40 ? 12 : n > 8 ? 6 : 0, () => this.deleteStore(category)],
      [n > 40 ? 8 : 4, () => (category === 'seq' ? null : this.expunge())],
      [n < 15 ? 14 : 7, () => (category === 'seq' ? null : this.append())],
      [5, () => this.search(category)],
      [5, () => (category === 'seq' ? null : this.noop())],
    ];
    const total = kinds.reduce((s, [w]) => s + w, 0);
    let r = rand(total);
    for (const [w, make] of kinds) {
      if (r < w) return make();
      r -= w;
    }
    return null;
  }

  private bySequence(category?: 'seq' | 'other'): boolean {
    return category ? category === 'seq' : rand(2) === 0;
  }

  /** A few messages of the model: by sequence number, or by UID when they all have one known. */
  private targets(bySeq: boolean, max: number): { set: string; uids: number[] | null } | null {
    const n = this.msgs.length;
    if (n === 0) return null;
    const start = 1 + rand(n);
    const end = Math.min(n, start + rand(max));
    const seqs = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const uids = seqs.map((s) => this.msgs[s - 1].uid);
    const known = uids.every((u) => u !== undefined) ? (uids as number[]) : null;
    if (bySeq) return { set: start === end ? `${start}` : `${start}:${end}`, uids: known };
    if (!known) return null;
    return { set: setOf(known), uids: known };
  }

  private fetchMeta(category?: 'seq' | 'other'): Op | null {
    const bySeq = this.bySequence(category);
    const t = this.targets(bySeq, 10) ?? (bySeq ? null : { set: '1:*', uids: null });
    if (!t) return null;
    const items = '(UID FLAGS RFC822.SIZE ENVELOPE INTERNALDATE)';
    return {
      category: bySeq ? 'seq' : 'other',
      line: bySeq ? `FETCH ${t.set} ${items}` : `UID FETCH ${t.set} ${items}`,
      mayBeExpunged: true,
    };
  }

  private fetchBody(category?: 'seq' | 'other'): Op | null {
    const bySeq = this.bySequence(category);
    const t = this.targets(bySeq, 2);
    if (!t) return null;
    const items = rand(3) === 0 ? '(UID RFC822.SIZE BODY[])' : '(UID RFC822.SIZE BODY.PEEK[])';
    return {
      category: bySeq ? 'seq' : 'other',
      line: bySeq ? `FETCH ${t.set} ${items}` : `UID FETCH ${t.set} ${items}`,
      mayBeExpunged: true,
    };
  }

  private randomFlags(): string[] {
    const pool = [...RANDOM_SYSTEM_FLAGS, ...SHARED_KEYWORDS];
    const count = 1 + rand(3);
    const out = new Set<string>();
    while (out.size < count) out.add(pick(pool));
    return [...out];
  }

  private store(category?: 'seq' | 'other'): Op | null {
    const bySeq = this.bySequence(category);
    const t = this.targets(bySeq, 5);
    if (!t) return null;
    const r = rand(100);
    // A replace needs the UIDs it names, to tell the owners of keywords that it may have changed them.
    const mode = r < 45 || (r >= 85 && !t.uids) ? '+FLAGS' : r < 85 ? '-FLAGS' : 'FLAGS';
    const flags = this.randomFlags();
    // The owner only changes its keyword on messages whose UIDs it knows (its history is by UID).
    const own = t.uids ? this.ownKeyword : null;
    // The owner sets or clears its keyword in half its STOREs; a replace either keeps it or drops it.
    const withOwn = own !== null && (mode === 'FLAGS' || rand(2) === 0);
    const ownValue = mode !== '-FLAGS';
    if (withOwn && (mode !== 'FLAGS' || rand(2) === 0)) flags.push(own);
    const ownInList = own !== null && flags.includes(own);
    const line = `${bySeq ? '' : 'UID '}STORE ${t.set} ${mode} (${flags.join(' ')})`;
    let ownStores: { uid: number; store: OwnStore }[] = [];
    let markers: OwnStore[] = [];
    let flagUpdatesBefore: Map<number, number> = new Map();
    return {
      category: bySeq ? 'seq' : 'other',
      line,
      mayBeExpunged: true,
      before: () => {
        const now = performance.now();
        if (mode === 'FLAGS') markers = this.mailbox.replaced(t.uids, own, now);
        // What the owner's keyword becomes on each message (known by UID only).
        if (own !== null && t.uids && (ownInList || mode === 'FLAGS')) {
          const value = mode === 'FLAGS' ? ownInList : ownValue;
          ownStores = t.uids.map((uid) => ({ uid, store: { value, startedAt: now } }));
          for (const { uid, store } of ownStores) this.mailbox.pushOwn(uid, own, store);
        }
        flagUpdatesBefore = new Map(this.msgs.filter((m) => m.uid !== undefined).map((m) => [m.uid!, m.flagUpdates]));
      },
      after: (tagged, sentAt) => {
        const now = performance.now();
        for (const m of markers) m.okAt = now;
        if (tagged.status !== 'OK') {
          // Unknown outcome: the owner's expectation is dropped.
          for (const { store } of ownStores) store.value = 'replaced';
          for (const { store } of ownStores) store.okAt = now;
          return;
        }
        for (const { uid, store } of ownStores) {
          store.okAt = now;
          // The change counts for the other sessions only once this session's model shows it: from the
          // STORE's FETCH, or already so when the keyword was unchanged (a server need not send a FETCH
          // then). Otherwise (the message may have been expunged by another session, and the STORE then
          // changed nothing) nobody knows the keyword's value until the owner stores it again.
          const msg = this.msgs.find((m) => m.uid === uid);
          if (!msg || msg.flags?.has(own!) !== store.value) store.value = 'replaced';
        }
        if (!t.uids || own === null || !(ownInList || mode === 'FLAGS')) return;
        const expected = mode === 'FLAGS' ? ownInList : ownValue;
        for (const uid of t.uids) {
          const msg = this.msgs.find((m) => m.uid === uid);
          if (!msg?.flags) continue; // expunged meanwhile (and we were told), or flags never seen
          // A message another session expunged may still be answered with its last flags, or not at all.
          if (this.expungePossible(sentAt)) continue;
          const history = this.mailbox.ownHistory(uid, own);
          if (history.some((s) => s.value === 'replaced' && s.startedAt <= now && (s.okAt === undefined || s.okAt >= sentAt))) continue;
          if (msg.flags.has(own) === expected) continue;
          // Only this client changes its keyword, so its model knew the keyword's value before the STORE.
          if (msg.flagUpdates === flagUpdatesBefore.get(uid))
            this.violation(
              `STORE ${mode} changes ${own} of UID ${uid}, but was answered OK without a FETCH of the new flags`,
              tagged.line,
              line,
            );
          else
            this.violation(
              `after STORE ${mode} the FETCH of UID ${uid} shows flags (${[...msg.flags].join(' ')}): ${own} should ` +
                `be ${expected ? 'set' : 'clear'}${debugHistory(history, sentAt)}`,
              tagged.line,
              line,
            );
        }
      },
    };
  }

  private deleteStore(category?: 'seq' | 'other'): Op | null {
    const bySeq = this.bySequence(category);
    const t = this.targets(bySeq, 1);
    if (!t) return null;
    return { category: bySeq ? 'seq' : 'other', line: `${bySeq ? '' : 'UID '}STORE ${t.set} +FLAGS (\\Deleted)`, mayBeExpunged: true };
  }

  private expunge(): Op {
    return this.syncing({
      category: 'other',
      line: 'EXPUNGE',
      before: () => this.mailbox.expungesSent++,
      after: () => this.mailbox.expungesCompleted++,
    });
  }

  private append(): Op {
    const body = makeMessage(this.label);
    const flags = rand(3) === 0 ? [] : this.randomFlags();
    const date =
      rand(3) === 0 ? ` "${pick(['06-Mar-2025 01:00:00 +0200', '01-Dec-2026 09:30:00 +0000', '15-Jul-2024 23:59:59 -0700'])}"` : '';
    const line = `APPEND "${this.mailbox.name}" (${flags.join(' ')})${date}`;
    return {
      category: 'other',
      line,
      literal: body,
      after: (t) => {
        if (t.status !== 'OK') return;
        this.stats.appends++;
        const m = /\[APPENDUID (\d+) (\d+)\]/i.exec(t.rest);
        if (!m) return this.violation('APPEND answered OK without APPENDUID', t.line, line);
        const [validity, uid] = [Number(m[1]), Number(m[2])];
        if (this.mailbox.uidValidity !== undefined && validity !== this.mailbox.uidValidity)
          this.violation(`APPENDUID names UIDVALIDITY ${validity}, the mailbox has ${this.mailbox.uidValidity}`, t.line, line);
        const origin = `appended by ${this.label}`;
        for (const problem of [
          this.mailbox.checkStatic(uid, 'size', body.length, origin),
          this.mailbox.checkStatic(uid, 'bodyHash', hash(body), origin),
        ])
          if (problem) this.violation(problem, t.line, line);
      },
    };
  }

  private search(category?: 'seq' | 'other'): Op {
    const bySeq = this.bySequence(category);
    const key = pick(['ALL', 'FLAGGED', 'UNSEEN', 'DELETED', `KEYWORD ${pick(SHARED_KEYWORDS)}`, 'NOT ANSWERED']);
    return { category: bySeq ? 'seq' : 'other', line: `${bySeq ? '' : 'UID '}SEARCH ${key}` };
  }

  private noop(): Op {
    return this.syncing({
      category: 'other',
      line: 'NOOP',
      after: (t, sentAt) => {
        if (t.status === 'OK') this.checkOwnKeywords(t, sentAt, performance.now());
      },
    });
  }

  private async select(): Promise<void> {
    const m = this.mailbox;
    this.selectSeen = { flags: false, exists: false, uidValidity: false, uidNext: false };
    await this.run1(
      this.syncing({
        category: 'other',
        line: `SELECT "${m.name}"`,
        before: () => {
          this.state = 'selected';
          this.msgs = [];
          this.flags = new Set();
          this.maxUidAtSelect = m.maxUid;
        },
        after: (t) => {
          if (t.status !== 'OK') {
            this.state = 'auth';
            return;
          }
          const missing = Object.entries(this.selectSeen)
            .filter(([, seen]) => !seen)
            .map(([k]) => k);
          if (missing.length) this.violation(`SELECT answered without ${missing.join(', ')}`, t.line, `SELECT "${m.name}"`);
          if (!/\[READ-WRITE\]/i.test(t.rest)) this.violation('SELECT answered without [READ-WRITE]', t.line, `SELECT "${m.name}"`);
        },
      }),
    );
  }

  /**
   * After a NOOP sent at `sentAt` and answered at `doneAt`: every keyword another client owns shows, on
   * every message whose flags this session knows, the value its owner's last STORE answered before
   * `sentAt` gave it (or one its owner set while the NOOP ran).
   */
  private checkOwnKeywords(t: Tagged, sentAt: number, doneAt: number): void {
    for (const msg of this.msgs) {
      if (msg.uid === undefined || !msg.flags) continue;
      const byKeyword = this.mailbox.ownStores.get(msg.uid);
      if (!byKeyword) continue;
      for (const [keyword, history] of byKeyword) {
        if (keyword === this.ownKeyword) continue;
        // The value the server shows is the one the last-executed change gave. A change may have been
        // executed last unless another one began after it was answered and was itself answered before
        // the NOOP was sent; changes still running during the NOOP may have been executed too.
        const settled = history.filter((s) => s.okAt !== undefined && s.okAt < sentAt);
        if (settled.length === 0) continue; // its value before any change is not known
        const candidates = history.filter(
          (e) => e.startedAt < doneAt && !settled.some((f) => f !== e && e.okAt !== undefined && f.startedAt > e.okAt),
        );
        if (candidates.length === 0 || candidates.some((e) => e.value === 'replaced')) continue;
        const accept = new Set(candidates.map((e) => e.value as boolean));
        const last = settled.reduce((a, b) => (b.okAt! > a.okAt! ? b : a));
        const actual = msg.flags.has(keyword);
        if (!accept.has(actual))
          this.rechecks.push({
            uid: msg.uid,
            keyword,
            accept,
            historyLength: history.length,
            problem:
              `UID ${msg.uid} shows (${[...msg.flags].join(' ')}) after NOOP, but its owner ${keyword.slice(3)}'s STORE ` +
              `answered ${Math.round(sentAt - last.okAt!)} ms before this NOOP ${last.value ? 'set' : 'cleared'} ${keyword}`,
            line: t.line,
            command: `NOOP${debugHistory(history, sentAt)}`,
          });
      }
    }
  }

  /** Owned keywords a NOOP did not bring up to date: FETCHed again, to tell a change never announced from one lost. */
  private rechecks: {
    uid: number;
    keyword: string;
    accept: Set<boolean>;
    historyLength: number;
    problem: string;
    line: string;
    command: string;
  }[] = [];

  private async recheck(): Promise<void> {
    if (this.rechecks.length === 0 || this.wire?.isClosed) return;
    const items = this.rechecks.splice(0);
    await this.run1({
      category: 'other',
      line: `UID FETCH ${setOf(items.map((i) => i.uid))} (UID FLAGS)`,
      after: (t) => {
        for (const i of items) {
          const msg = this.msgs.find((m) => m.uid === i.uid);
          const history = this.mailbox.ownHistory(i.uid, i.keyword);
          if (t.status !== 'OK' || !msg?.flags || history.length !== i.historyLength)
            this.violation(`flag change not seen after NOOP: ${i.problem}`, i.line, i.command);
          else if (i.accept.has(msg.flags.has(i.keyword)))
            this.violation(`flag change not announced by NOOP (a FETCH right after shows it): ${i.problem}`, i.line, i.command);
          else this.violation(`flag change lost (a FETCH right after NOOP does not show it either): ${i.problem}`, i.line, i.command);
        }
      },
    });
  }

  // ---- untagged responses ----

  private onUntagged(r: Response, inFlight: readonly InFlight[]): void {
    try {
      this.untagged(r, inFlight);
    } catch (err) {
      this.violation(`unparsable response: ${(err as Error).message}`, r.text, inFlight);
    }
  }

  private untagged(r: Response, inFlight: readonly InFlight[]): void {
    if (r.raw[0] === 0x2b /* + */) {
      this.violation('unexpected continuation request (LITERAL+ was used)', r.text, inFlight);
      return;
    }
    if (r.text.startsWith('(unknown tag)')) {
      this.violation('tagged response with a tag never sent', r.text, inFlight);
      return;
    }
    const p = new Parser(r.raw, 2);
    const first = p.item();
    if (typeof first !== 'string') {
      this.violation('untagged response starts with neither a number nor a keyword', r.text, inFlight);
      return;
    }
    if (/^\d+$/.test(first)) {
      const n = Number(first);
      const kind = text(p.item()).toUpperCase();
      this.numbered(n, kind, p, r, inFlight);
      return;
    }
    const kind = first.toUpperCase();
    switch (kind) {
      case 'OK':
        this.statusCode(r, inFlight);
        return;
      case 'NO':
        this.violation('untagged NO', r.text, inFlight);
        return;
      case 'BAD':
        this.violation('untagged BAD', r.text, inFlight);
        return;
      case 'BYE':
        if (!inFlight.some((c) => c.name === 'LOGOUT')) this.violation('BYE outside LOGOUT', r.text, inFlight);
        return;
      case 'FLAGS': {
        const list = p.item();
        if (!Array.isArray(list)) {
          this.violation('FLAGS without a list', r.text, inFlight);
          return;
        }
        this.flags = new Set(list.map(text));
        this.selectSeen.flags = true;
        return;
      }
      case 'SEARCH': {
        const uid = inFlight.some((c) => c.name === 'UID SEARCH');
        const bySeq = inFlight.some((c) => c.name === 'SEARCH');
        while (!p.atEnd()) {
          const n = Number(text(p.item()));
          if (!Number.isInteger(n) || n < 1) {
            this.violation('SEARCH result is not a number', r.text, inFlight);
            return;
          }
          if (bySeq && !uid && n > this.msgs.length)
            this.violation(`SEARCH returned ${n}, beyond EXISTS ${this.msgs.length}`, r.text, inFlight);
        }
        return;
      }
      case 'STATUS': {
        p.item();
        const items = p.item();
        if (!Array.isArray(items)) {
          this.violation('STATUS without a list', r.text, inFlight);
          return;
        }
        for (let i = 0; i + 1 < items.length; i += 2) {
          const [item, value] = [text(items[i]).toUpperCase(), Number(text(items[i + 1]))];
          if (item === 'UIDVALIDITY') this.uidValidity(value, r, inFlight);
          if (item === 'UIDNEXT' && value <= this.maxUidAtStatus)
            this.violation(`STATUS UIDNEXT ${value}, but UID ${this.maxUidAtStatus} was seen before`, r.text, inFlight);
          if (!Number.isInteger(value) || value < 0) this.violation(`STATUS ${item} is not a number`, r.text, inFlight);
        }
        return;
      }
      case 'LIST': {
        p.item();
        p.item();
        if (text(p.item()) === this.mailbox.name) this.listed = true;
        return;
      }
      case 'LSUB':
      case 'CAPABILITY':
      case 'ENABLED':
      case 'ID':
      case 'NAMESPACE':
        return;
      default:
        this.violation(`unknown untagged response ${kind}`, r.text, inFlight);
        return;
    }
  }

  private statusCode(r: Response, inFlight: readonly InFlight[]): void {
    const m = /^\* OK \[([A-Z0-9-]+)(?: ([^\]]*))?\]/i.exec(r.text);
    if (!m) return;
    const code = m[1].toUpperCase();
    if (code === 'UIDVALIDITY') {
      this.selectSeen.uidValidity = true;
      this.uidValidity(Number(m[2]), r, inFlight);
    } else if (code === 'UIDNEXT') {
      this.selectSeen.uidNext = true;
      const next = Number(m[2]);
      if (next <= this.maxUidAtSelect)
        this.violation(`UIDNEXT ${next} at SELECT, but UID ${this.maxUidAtSelect} was seen before`, r.text, inFlight);
    }
  }

  private uidValidity(v: number, r: Response, inFlight: readonly InFlight[]): void {
    if (this.mailbox.uidValidity === undefined) this.mailbox.uidValidity = v;
    else if (this.mailbox.uidValidity !== v)
      this.violation(`UIDVALIDITY changed from ${this.mailbox.uidValidity} to ${v}`, r.text, inFlight);
  }

  private numbered(n: number, kind: string, p: Parser, r: Response, inFlight: readonly InFlight[]): void {
    const selecting = inFlight.some((c) => c.name === 'SELECT');
    if (this.state !== 'selected' && !selecting && kind !== 'RECENT') {
      this.violation(`${kind} while no mailbox is selected`, r.text, inFlight);
      return;
    }
    switch (kind) {
      case 'EXISTS':
        this.selectSeen.exists = true;
        if (n < this.msgs.length) this.violation(`EXISTS went down from ${this.msgs.length} to ${n} without EXPUNGE`, r.text, inFlight);
        while (this.msgs.length < n) this.msgs.push({ flagUpdates: 0 });
        return;
      case 'RECENT':
        if (n > this.msgs.length) this.violation(`RECENT ${n} beyond EXISTS ${this.msgs.length}`, r.text, inFlight);
        return;
      case 'EXPUNGE': {
        if (inFlight.length === 0) this.violation('EXPUNGE while no command is in progress', r.text, inFlight);
        const forbidding = inFlight.find((c) => c.name === 'FETCH' || c.name === 'STORE' || c.name === 'SEARCH');
        if (forbidding) this.violation(`EXPUNGE during ${forbidding.name} by sequence number`, r.text, inFlight);
        if (n < 1 || n > this.msgs.length) {
          this.violation(`EXPUNGE ${n} out of range (EXISTS ${this.msgs.length})`, r.text, inFlight);
          return;
        }
        this.msgs.splice(n - 1, 1);
        this.stats.expunged++;
        return;
      }
      case 'FETCH':
        this.fetch(n, p, r, inFlight);
        return;
      default:
        this.violation(`unknown response ${n} ${kind}`, r.text, inFlight);
        return;
    }
  }

  private fetch(n: number, p: Parser, r: Response, inFlight: readonly InFlight[]): void {
    if (n < 1 || n > this.msgs.length) {
      this.violation(`FETCH for message ${n}, beyond EXISTS ${this.msgs.length}`, r.text, inFlight);
      return;
    }
    const list = p.item();
    if (!Array.isArray(list) || list.length % 2 !== 0) {
      this.violation('FETCH without an even list of items', r.text, inFlight);
      return;
    }
    const items = new Map<string, Item>();
    for (let i = 0; i < list.length; i += 2) items.set(text(list[i]).toUpperCase(), list[i + 1]);
    const msg = this.msgs[n - 1];
    if (items.has('UID')) {
      const uid = Number(text(items.get('UID')!));
      if (msg.uid !== undefined && msg.uid !== uid)
        this.violation(`UID of message ${n} changed from ${msg.uid} to ${uid}`, r.text, inFlight);
      else if (msg.uid === undefined) {
        for (let i = n - 2; i >= 0; i--) {
          const u = this.msgs[i].uid;
          if (u === undefined) continue;
          if (u >= uid) this.violation(`UIDs not ascending: message ${i + 1} has UID ${u}, message ${n} has UID ${uid}`, r.text, inFlight);
          break;
        }
        for (let i = n; i < this.msgs.length; i++) {
          const u = this.msgs[i].uid;
          if (u === undefined) continue;
          if (u <= uid) this.violation(`UIDs not ascending: message ${n} has UID ${uid}, message ${i + 1} has UID ${u}`, r.text, inFlight);
          break;
        }
        msg.uid = uid;
      }
      if (uid > this.mailbox.maxUid) this.mailbox.maxUid = uid;
    } else if (inFlight.some((c) => c.name === 'UID FETCH') && [...items.keys()].some((k) => k !== 'FLAGS')) {
      // Only an unsolicited flag update may lack the UID while a UID FETCH runs (RFC 3501 6.4.8).
      this.violation('FETCH answering a UID FETCH without UID', r.text, inFlight);
    }
    if (items.has('FLAGS')) {
      const flags = items.get('FLAGS');
      if (!Array.isArray(flags)) {
        this.violation('FLAGS is not a list', r.text, inFlight);
        return;
      }
      const set = new Set<string>();
      for (const f of flags.map(text)) {
        if (f.startsWith('\\')) {
          if (f === '\\Recent') continue;
          if (!SYSTEM_FLAGS.has(f)) this.violation(`unknown system flag ${f}`, r.text, inFlight);
        } else if (!this.flags.has(f)) this.violation(`keyword used without being in FLAGS: ${f}`, r.text, inFlight);
        set.add(f);
      }
      msg.flags = set;
      msg.flagUpdates++;
    }
    const uid = msg.uid;
    if (uid === undefined) return;
    // A message another session expunged, not yet reported to this one, may be answered with empty data
    // (Dovecot: RFC822.SIZE 0, BODY[] NIL; RFC 2180 4.1.3): nothing to compare then.
    const size0 = items.get('RFC822.SIZE');
    if (
      this.expungePossible(0) &&
      ((size0 !== undefined && text(size0) === '0') || items.get('BODY[]') === null || items.get('ENVELOPE') === null)
    )
      return;
    const origin = `${this.label} ${inFlight.map((c) => c.line).join(' | ')}`.slice(0, 120);
    const problems: (string | null)[] = [];
    const size = items.get('RFC822.SIZE');
    if (size !== undefined) problems.push(this.mailbox.checkStatic(uid, 'size', Number(text(size)), origin));
    const envelope = items.get('ENVELOPE');
    if (envelope !== undefined) {
      problems.push(this.mailbox.checkStatic(uid, 'envelope', canonical(envelope), origin));
      const id = Array.isArray(envelope) ? envelope[9] : null;
      if (id instanceof Quoted || Buffer.isBuffer(id)) {
        const messageId = text(id);
        const other = this.mailbox.uidOfMessageId.get(messageId);
        if (other === undefined) this.mailbox.uidOfMessageId.set(messageId, uid);
        else if (other !== uid) problems.push(`one message under two UIDs: ${messageId} is UID ${other} and UID ${uid}`);
      }
    }
    const date = items.get('INTERNALDATE');
    if (date !== undefined) problems.push(this.mailbox.checkStatic(uid, 'internalDate', text(date), origin));
    const body = items.get('BODY[]');
    if (body !== undefined) {
      if (!Buffer.isBuffer(body) && !(body instanceof Quoted)) problems.push('BODY[] is neither a literal nor a string');
      else {
        const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.text, 'latin1');
        problems.push(this.mailbox.checkStatic(uid, 'bodyHash', hash(bytes), origin));
        problems.push(this.mailbox.checkStatic(uid, 'size', bytes.length, origin));
      }
    }
    for (const problem of problems) if (problem) this.violation(problem, r.text, inFlight);
  }
}
