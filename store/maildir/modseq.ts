// Mod-sequences of a Maildir folder (RFC 7162 CONDSTORE/QRESYNC; MessageInfo.modseq, MailboxView.highestModseq):
// `postern-modseq` beside dovecot-uidlist records, per UID, the modseq of its last change and the flag
// letters of its file name then (or that it vanished). Every process on the tree (workers, nodes, after a
// restart) reads the same file, so all agree on every modseq: a change any of them (or Dovecot) made is
// given its modseq by whichever process notices it first (its own STORE or expunge at once, a rename or a
// new or vanished file at its next look, by comparing the folder with the file), and the others find it
// recorded. Dovecot keeps its modseqs in its index, which Postern does not read: each server keeps its own.
//
//   P1 V1796113780 H42 F1          header: version, UIDVALIDITY, highest modseq, forgotten-up-to floor
//   7 40 =SR                       UID 7 changed at modseq 40 and has the letters "SR" since
//   9 42 -                         UID 9 vanished at modseq 42
//
// Records are appended (one write per change, never a rewrite of the whole file: 100 flag changes in a
// mailbox of 100,000 messages add 100 short lines); a later record of a UID replaces the earlier. When the
// records outnumber the UIDs they describe, the file is compacted: written whole to postern-modseq.tmp
// (synced) and renamed over it, keeping the live UIDs and the last KEEP_VANISHED vanished ones; F then
// says up to which modseq vanished UIDs may have been forgotten. Both happen under postern-modseq.lock (a
// dotlock as for the uidlist, its own so that it never holds up Dovecot). The highest modseq is never
// lowered: H carries it across compactions, and a file made anew (or for a new UIDVALIDITY) starts from
// the time in milliseconds, above any modseq an earlier file can have reached.
import { join } from 'node:path';
import { acquireDotlock } from './dotlock.js';
import type { StoreLog } from './real-folders.js';
import { readRange, replaceFile } from './whole-files.js';
import { closeQuick, closeQuietly, openQuick, READ_IN_PLACE, readRangeQuick, statQuick, writeAllQuick } from '../../lib/quick-fs.js';
import { isWriteFault } from '../../lib/write-fault.js';

export const MODSEQ_FILE = 'postern-modseq';
/** Vanished UIDs remembered per mailbox (for QRESYNC's VANISHED (EARLIER)); older requests get the RFC's fallback. */
export const KEEP_VANISHED = 10_000;

/** One UID as the file has it: its modseq, and its letters (null: vanished). */
interface Entry {
  readonly modseq: number;
  readonly letters: string | null;
}

/** A message as the folder sees it now. */
export interface LiveMessage {
  readonly uid: number;
  readonly letters: string;
}

/** A change waiting for its turn at the lock (change()). */
interface Work {
  readonly uidValidity: number;
  readonly work: () => { changed: readonly LiveMessage[]; vanished: readonly number[] };
  resolve(): void;
  reject(err: unknown): void;
}

interface Cache {
  ino: bigint;
  size: number;
  consumed: number;
}

export class ModseqLog {
  private readonly entries = new Map<number, Entry>();
  private uidValidity = 0;
  private highestSeen = 1;
  private floor = 0;
  private live = 0;
  /** The vanished UIDs by their modseq (also in `entries`): what expungedSince() walks. */
  private readonly vanished = new Map<number, number>();
  /** Record lines in the file (to know when to compact). */
  private lines = 0;
  private cache: Cache | null = null;
  private turn: Promise<unknown> = Promise.resolve();
  /** The UIDs whose record changed since takeTouched() (read from the file or recorded here); 'all' after a whole read. */
  private touched: Set<number> | 'all' = 'all';

  constructor(
    private readonly folder: string,
    private readonly log?: StoreLog,
    private readonly keepVanished = KEEP_VANISHED,
  ) {}

  /** The highest modseq known (at least 1). */
  get highest(): number {
    return this.highestSeen;
  }

  /** The modseq of a UID's last change (0: not recorded). */
  modseqOf(uid: number): number {
    return this.entries.get(uid)?.modseq ?? 0;
  }

  /** UIDs that vanished at a modseq above `modseq`, ascending; null when some may have been forgotten. */
  expungedSince(modseq: number): number[] | null {
    if (modseq < this.floor) return null;
    const out: number[] = [];
    for (const [uid, at] of this.vanished) if (at > modseq) out.push(uid);
    return out.sort((a, b) => a - b);
  }

  /** The UIDs whose modseq may have changed since the last call ('all': any of them). */
  takeTouched(): ReadonlySet<number> | 'all' {
    const touched = this.touched;
    this.touched = new Set();
    return touched;
  }

  /**
   * reconcile() for a folder known to have changed only in these messages since the last reconcile:
   * `live` added or renamed, `gone` removed (no walk over the other messages).
   */
  async reconcileSome(uidValidity: number, live: readonly LiveMessage[], gone: readonly number[]): Promise<void> {
    await this.inTurn(() => this.readNow()).catch(() => {});
    if (live.length + gone.length === 0) return;
    const unrecorded = () => ({
      changed: live.filter((m) => this.entries.get(m.uid)?.letters !== m.letters),
      vanished: gone.filter((uid) => {
        const e = this.entries.get(uid);
        return e !== undefined && e.letters !== null;
      }),
    });
    // Most often this process's own STORE or expunge recorded these changes already (record()), and the
    // watch reports them after: then the lock is not taken at all (it was taken, and nothing written, once
    // per flag change). What the file had was just read; a record another process makes later only
    // describes a later state of the folder, which a later look reconciles.
    const now = unrecorded();
    if (uidValidity === this.uidValidity && now.changed.length + now.vanished.length === 0) return;
    await this.change(uidValidity, unrecorded);
  }

  /** True when every message has its letters recorded and nothing else is recorded live (no write needed). */
  private matches(uidValidity: number, messages: readonly LiveMessage[]): boolean {
    if (uidValidity !== this.uidValidity && messages.length > 0) return false;
    for (const m of messages) {
      const e = this.entries.get(m.uid);
      if (e === undefined || e.letters !== m.letters) return false;
    }
    return this.live === messages.length || uidValidity !== this.uidValidity;
  }

  /**
   * Brings the records in line with the folder as it is now: a message not recorded, recorded with
   * other letters, or recorded as vanished gets a new modseq; a UID recorded live that the folder no
   * longer has is recorded as vanished. All of one look's changes share one modseq. `reread`: look at
   * the file first for what other processes recorded (cheap: a stat, then only what was appended).
   */
  async reconcile(uidValidity: number, messages: readonly LiveMessage[], reread: boolean): Promise<void> {
    if (reread) await this.inTurn(() => this.readNow()).catch(() => {});
    if (this.matches(uidValidity, messages)) return;
    await this.change(uidValidity, () => {
      const changed: LiveMessage[] = [];
      for (const m of messages) {
        const e = this.entries.get(m.uid);
        if (e === undefined || e.letters !== m.letters) changed.push(m);
      }
      const vanished: number[] = [];
      if (this.live > messages.length - changed.length) {
        const there = new Set(messages.map((m) => m.uid));
        for (const [uid, e] of this.entries) if (e.letters !== null && !there.has(uid)) vanished.push(uid);
      }
      return { changed, vanished };
    });
  }

  /**
   * Records this process's own change (a STORE's renames, an expunge's removals) with a new modseq, and
   * returns the modseq each changed UID has now: the new one, or the one another process gave the same
   * change first (its record has these letters already).
   */
  async record(uidValidity: number, changed: readonly LiveMessage[], vanished: readonly number[]): Promise<Map<number, number>> {
    await this.change(uidValidity, () => ({
      changed: changed.filter((m) => this.entries.get(m.uid)?.letters !== m.letters),
      vanished: vanished.filter((uid) => this.entries.get(uid)?.letters !== null),
    }));
    return new Map(changed.map((m) => [m.uid, this.modseqOf(m.uid)]));
  }

  /**
   * Works out the changes under the lock, with the file re-read, and records them with a new modseq. The
   * changes asked for while one is being recorded wait and are then recorded together, under one turn at the
   * lock and in one write (many sessions storing flags at once), each with a modseq of its own.
   */
  private change(uidValidity: number, work: Work['work']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ uidValidity, work, resolve, reject });
      if (this.waiting.length === 1) void this.inTurn(() => this.recordWaiting());
    });
  }

  private waiting: Work[] = [];

  private async recordWaiting(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    let lock: Awaited<ReturnType<typeof acquireDotlock>> | null = null;
    try {
      try {
        lock = await acquireDotlock(join(this.folder, `${MODSEQ_FILE}.lock`), {
          timeoutMs: 10_000,
          staleMs: 120_000,
          guarded: join(this.folder, MODSEQ_FILE),
          form: 'symlink', // Postern's own file (dotlock.ts)
        });
        await this.readNow();
      } catch (err) {
        // the records cannot be kept (a read-only tree, a lock held for long): the modseqs are given in
        // this process only, so that mail is still served and no change goes unannounced to its sessions
        this.log?.warn({ path: this.folder, err: (err as Error).message }, 'mod-sequences kept in memory only');
        await lock?.release().catch(() => {});
        lock = null;
      }
      let fresh = false;
      let text = '';
      for (const w of batch) {
        if (w.uidValidity !== this.uidValidity) {
          this.restart(w.uidValidity);
          fresh = true;
          text = '';
        }
        const { changed, vanished } = w.work();
        if (changed.length === 0 && vanished.length === 0) continue;
        const modseq = this.highestSeen + 1;
        for (const m of changed) text += this.apply(m.uid, modseq, m.letters);
        for (const uid of vanished) text += this.apply(uid, modseq, null);
      }
      if (lock !== null) {
        try {
          if (fresh || this.cache === null || this.cache.consumed !== this.cache.size || this.needsCompaction()) await this.writeWhole();
          else if (text !== '') await this.append(text);
        } catch (err) {
          // a full disk, a read-only tree: kept in this process only, as when the lock cannot be had; the next
          // change that can write writes the file whole (a line cut short by the full disk goes with it)
          if (!isWriteFault(err)) throw err;
          this.log?.warn({ path: this.folder, err: (err as Error).message }, 'mod-sequences kept in memory only');
          this.cache = null;
        }
      }
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      await lock?.release().catch(() => {});
    }
  }

  private restart(uidValidity: number): void {
    // A new UIDVALIDITY, or no file (yet, or any more): nothing recorded counts. The modseqs go on from
    // the time in milliseconds, so that a file lost (removed by hand, damaged) and made again never gives
    // a modseq a client saw before: that would take far more than one change per millisecond since.
    this.highestSeen = Math.max(this.highestSeen, Date.now());
    this.touched = 'all';
    this.entries.clear();
    this.live = this.lines = 0;
    this.vanished.clear();
    this.uidValidity = uidValidity;
    this.floor = this.highestSeen;
  }

  /** Applies one record to the table; returns its line. */
  private apply(uid: number, modseq: number, letters: string | null): string {
    const old = this.entries.get(uid);
    if (old) {
      if (old.letters === null) this.vanished.delete(uid);
      else this.live--;
    }
    if (letters === null) this.vanished.set(uid, modseq);
    else this.live++;
    if (this.touched !== 'all') this.touched.add(uid);
    this.entries.set(uid, { modseq, letters: letters === null ? null : shared(letters) });
    if (modseq > this.highestSeen) this.highestSeen = modseq;
    this.lines++;
    return `${uid} ${modseq} ${letters === null ? '-' : `=${letters}`}\n`;
  }

  private needsCompaction(): boolean {
    return this.lines > 2 * (this.live + this.vanished.size) + 1000 || this.vanished.size > 2 * this.keepVanished;
  }

  /** Reads what the file has that this process has not read (all of it when it was replaced). */
  private async readNow(): Promise<void> {
    const path = join(this.folder, MODSEQ_FILE);
    let st: import('node:fs').BigIntStats;
    try {
      st = await statQuick(path); // in place while lib/in-place.ts allows: every flag change, expunge and APPEND asks
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (this.cache !== null) this.restart(0); // removed by someone: made again at the next change
      this.cache = null;
      return;
    }
    const size = Number(st.size);
    const cached = this.cache;
    if (cached && cached.ino === st.ino && cached.size === size) return;
    const appended = cached !== null && cached.ino === st.ino && size > cached.consumed;
    const from = appended ? cached.consumed : 0;
    const data = size - from <= READ_IN_PLACE ? await readRangeQuick(path, from, size) : await readRange(path, from, size);
    const whole = data.lastIndexOf(10) + 1;
    let text = data.toString('latin1', 0, whole);
    if (!appended) {
      const nl = text.indexOf('\n');
      const header = /^P1 V(\d+) H(\d+) F(\d+)$/.exec(nl < 0 ? '' : text.slice(0, nl));
      this.entries.clear();
      this.live = this.lines = 0;
      this.vanished.clear();
      this.touched = 'all';
      if (!header) {
        // damaged (or being written by a crashed writer): rewritten whole at the next change
        this.uidValidity = 0;
        this.cache = { ino: st.ino, size, consumed: -1 };
        return;
      }
      this.uidValidity = Number(header[1]);
      this.highestSeen = Math.max(this.highestSeen, Number(header[2]));
      this.floor = Number(header[3]);
      text = text.slice(nl + 1);
    }
    for (const line of text.split('\n')) {
      const m = /^(\d+) (\d+) (-|=[A-Za-z]*)$/.exec(line);
      if (m) this.apply(Number(m[1]), Number(m[2]), m[3] === '-' ? null : m[3].slice(1));
    }
    this.cache = { ino: st.ino, size, consumed: from + whole };
  }

  private async append(text: string): Promise<void> {
    const path = join(this.folder, MODSEQ_FILE);
    // in place while lib/in-place.ts allows (a short line or a few per change)
    const fd = await openQuick(path, 'a');
    try {
      await writeAllQuick(fd, Buffer.from(text, 'latin1'));
    } catch (err) {
      await closeQuietly(fd);
      throw err;
    }
    await closeQuick(fd);
    // read on from here next time (no other writer could write meanwhile: the lock is ours)
    const grown = Buffer.byteLength(text, 'latin1');
    this.cache = { ino: this.cache!.ino, size: this.cache!.size + grown, consumed: this.cache!.consumed + grown };
  }

  /** Writes the whole file through postern-modseq.tmp (synced, then renamed over it), compacted. */
  private async writeWhole(): Promise<void> {
    const path = join(this.folder, MODSEQ_FILE);
    const vanished = [...this.vanished].sort((a, b) => a[1] - b[1]);
    const forget = vanished.length - this.keepVanished;
    for (let i = 0; i < forget; i++) {
      this.floor = Math.max(this.floor, vanished[i][1]);
      this.entries.delete(vanished[i][0]);
      this.vanished.delete(vanished[i][0]);
    }
    const parts = [`P1 V${this.uidValidity} H${this.highestSeen} F${this.floor}\n`];
    for (const [uid, e] of [...this.entries].sort((a, b) => a[0] - b[0]))
      parts.push(`${uid} ${e.modseq} ${e.letters === null ? '-' : `=${e.letters}`}\n`);
    this.lines = this.entries.size;
    const data = Buffer.from(parts.join(''), 'latin1');
    await replaceFile(path, data, true);
    const st = await statQuick(path);
    this.cache = { ino: st.ino, size: data.length, consumed: data.length };
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.turn.then(work, work);
    this.turn = turn.catch(() => {});
    return turn;
  }
}

// Most messages have one of a few letter strings ("", "S", "RS"): each is kept once, not once per message
// (a string cut from the file's text would also keep all of that text alive).
const LETTERS = new Map<string, string>();

function shared(letters: string): string {
  let kept = LETTERS.get(letters);
  if (kept === undefined) {
    if (LETTERS.size >= 10_000) LETTERS.clear();
    kept = Buffer.from(letters, 'latin1').toString('latin1'); // a copy of its own
    LETTERS.set(kept, kept);
  }
  return kept;
}
