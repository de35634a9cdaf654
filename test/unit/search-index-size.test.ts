// The SEARCH index's size against the mail it covers (issue 25: at most half of it for plain-text mail),
// and the figures behind the table's options (store/search-index/index-file.ts FTS_OPTIONS): the same
// plain-text messages indexed with detail=full, column and none (the choice: the fields table column, the texts table none).
// SEARCH_INDEX_SIZE=N measures N messages and prints the figures (README "Index for SEARCH").
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FTS_OPTIONS } from '../../store/search-index/index-file.js';
import { MailboxIndex } from '../../store/search-index/mailbox-index.js';
import { indexedText } from '../../store/search-index/message-text.js';

const COUNT = Number(process.env.SEARCH_INDEX_SIZE ?? 2000);

/** A seeded xorshift generator: the same mail every run. */
function seeded(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

const SYLLABLES = 'ka ri to na me su lo pe an der ing ion ver sta pro com tion ble ment al re ex de con ter ous'.split(' ');

/**
 * Plain-text mail as people write it: a vocabulary of 6,000 words used by a Zipf-like law (a few words
 * often, most rarely), numbers, names and addresses, lines of about 70 characters, 1-6 KB per message.
 */
function plainTextMail(count: number): Buffer[] {
  const r = seeded(25);
  const vocabulary = Array.from({ length: 6000 }, () => Array.from({ length: 1 + r(3) }, () => SYLLABLES[r(SYLLABLES.length)]).join(''));
  const word = () => vocabulary[Math.floor(vocabulary.length * (r(10_000) / 10_000) ** 3)];
  const people = Array.from({ length: 300 }, (_, i) => `${word()} ${word()} <${word()}${i}@${word()}.example>`);
  return Array.from({ length: count }, (_, n) => {
    const lines: string[] = [];
    const target = 1000 + r(5000);
    let line = '';
    for (let size = 0; size < target; ) {
      const w = r(20) === 0 ? String(r(100_000)) : word();
      line += (line ? ' ' : '') + (r(12) === 0 ? `${w[0].toUpperCase()}${w.slice(1)}.` : w);
      if (line.length > 68) {
        lines.push(line);
        size += line.length + 2;
        line = '';
      }
    }
    const header = [
      `Return-Path: <${word()}@${word()}.example>`,
      `From: ${people[r(people.length)]}`,
      `To: ${people[r(people.length)]}`,
      ...(r(3) === 0 ? [`Cc: ${people[r(people.length)]}, ${people[r(people.length)]}`] : []),
      `Subject: ${word()} ${word()} ${word()} ${n}`,
      `Date: Mon, ${1 + r(28)} Oct 2026 ${10 + r(10)}:${10 + r(50)}:00 +0000`,
      `Message-ID: <${n}.${r(1e9)}@mail.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ];
    return Buffer.from(`${header.join('\r\n')}\r\n\r\n${lines.join('\r\n')}\r\n`);
  });
}

const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

/** The file's size once its WAL is folded in. */
function fileSize(db: Database.Database, path: string): number {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(path).size;
}

describe('the size of the SEARCH index', () => {
  it(`plain-text mail (${COUNT} messages): the index is at most half the mail's size`, () => {
    const mail = plainTextMail(COUNT);
    const mailOctets = mail.reduce((sum, m) => sum + m.length, 0);
    const dir = mkdtempSync(join(tmpdir(), 'postern-index-size-'));
    try {
      const started = performance.now();
      const index = new MailboxIndex(dir);
      index.reset(1);
      for (let i = 0; i < mail.length; i += 200)
        index.add(
          mail.slice(i, i + 200).map((raw, k) => ({ uid: i + k + 1, text: indexedText(raw) })),
          1,
        );
      const took = performance.now() - started;
      index.close();
      const db = new Database(join(dir, 'postern-search.sqlite'));
      const size = fileSize(db, join(dir, 'postern-search.sqlite'));
      db.close();
      const figures = [
        `mail ${mailOctets} octets in ${COUNT} messages; the index (fields detail=column, texts detail=none): ` +
          `${size} (${percent(size, mailOctets)}), ${took.toFixed(0)} ms`,
      ];
      if (process.env.SEARCH_INDEX_SIZE) {
        for (const detail of ['full', 'column', 'none']) {
          const path = join(dir, `${detail}.sqlite`);
          const other = new Database(path);
          other.pragma('journal_mode = WAL');
          other.exec(
            `CREATE VIRTUAL TABLE fields USING fts5(subject, from_, to_, cc, bcc, ${FTS_OPTIONS}, detail=${detail});
             CREATE VIRTUAL TABLE texts USING fts5(header, parts, body, ${FTS_OPTIONS}, detail=${detail})`,
          );
          const fields = other.prepare('INSERT INTO fields (rowid, subject, from_, to_, cc, bcc) VALUES (?, ?, ?, ?, ?, ?)');
          const texts = other.prepare('INSERT INTO texts (rowid, header, parts, body) VALUES (?, ?, ?, ?)');
          const t0 = performance.now();
          other.transaction(() => {
            mail.forEach((raw, i) => {
              const t = indexedText(raw);
              fields.run(i + 1, t.subject, t.from, t.to, t.cc, t.bcc);
              texts.run(i + 1, t.header, t.parts, t.body);
            });
          })();
          const ms = performance.now() - t0;
          const octets = fileSize(other, path);
          const fieldsOctets = (other.prepare('SELECT sum(length(block)) FROM fields_data').pluck().get() as number) ?? 0;
          other.close();
          figures.push(
            `detail=${detail} for both tables: ${octets} (${percent(octets, mailOctets)}; the fields table's data ${fieldsOctets}), ` +
              `${ms.toFixed(0)} ms`,
          );
        }
        process.stdout.write(`${figures.join('\n')}\n`);
      }
      expect(size / mailOctets, figures.join('; ')).toBeLessThanOrEqual(0.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
