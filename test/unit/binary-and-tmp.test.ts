// Pure pieces of issue 20's crash and binary items: which tmp/ files a dead writer left
// (store/maildir/tmp-cleanup.ts), and the stored form of a binary APPEND
// (modules/imap/message/binary-append.ts), which BINARY[] must turn back into exactly what was sent.
import fc from 'fast-check';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { abandoned, TMP_MAX_AGE_MS } from '../../store/maildir/tmp-cleanup.js';
import { binaryBytes } from '../../modules/imap/message/binary.js';
import { encodeBinaryParts } from '../../modules/imap/message/binary-append.js';
import { parseMime } from '../../mime/mime-tree.js';

describe('abandoned tmp/ files', () => {
  const now = Date.now();
  const fresh = { mtimeMs: now, atimeMs: now, ctimeMs: now };
  const host = hostname();
  it('a file of a process of this host that no longer runs goes at once; a running one stays', () => {
    expect(abandoned(`${Math.floor(now / 1000)}.M1P999999999Q1.${host}`, fresh, now)).toBe(true);
    expect(abandoned(`${Math.floor(now / 1000)}.M1P${process.ppid}Q1.${host}`, fresh, now)).toBe(false);
    // Dovecot's names have the same parts
    expect(abandoned(`${Math.floor(now / 1000)}.M123P999999999.${host},S=10`, fresh, now)).toBe(true);
  });
  it("this process's pid: only a file older than this process (a pid reused after a restart)", () => {
    expect(abandoned(`1.M1P${process.pid}Q1.${host}`, fresh, now)).toBe(false);
    const old = now - process.uptime() * 1000 - 60_000;
    // an INTERNALDATE set on a file still waiting in tmp/ (mtime long ago) does not make it old
    expect(abandoned(`1.M1P${process.pid}Q1.${host}`, { mtimeMs: 0, atimeMs: 0, ctimeMs: now }, now)).toBe(false);
    expect(abandoned(`1.M1P${process.pid}Q1.${host}`, { mtimeMs: old, atimeMs: old, ctimeMs: old }, now)).toBe(true);
  });
  it("another host's files and names of other forms stay 36 hours, as in Dovecot", () => {
    const young = now - TMP_MAX_AGE_MS + 60_000;
    const old = now - TMP_MAX_AGE_MS - 60_000;
    for (const name of [`1.M1P999999999Q1.elsewhere.example`, 'courier-tmp-file', `1.P1.${host}x`]) {
      expect(abandoned(name, { mtimeMs: young, atimeMs: young, ctimeMs: young }, now)).toBe(false);
      expect(abandoned(name, { mtimeMs: old, atimeMs: old, ctimeMs: old }, now)).toBe(true);
    }
  });
});

describe('binary APPEND stored form', () => {
  const wrap = (cte: string, payload: Buffer, nl = '\r\n') =>
    Buffer.concat([
      Buffer.from(
        `MIME-Version: 1.0${nl}Content-Type: multipart/mixed; boundary="x"${nl}${nl}--x${nl}Content-Type: ` +
          `application/octet-stream${nl}Content-Transfer-Encoding: ${cte}${nl}X-After: 1${nl}${nl}`,
      ),
      payload,
      Buffer.from(`${nl}--x--${nl}`),
    ]);
  it('any octets in a binary part: stored without NUL, in lines of at most 76, and BINARY[] gives back the message sent', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.constantFrom('\r\n', '\n'),
        fc.constantFrom('binary', 'Binary'),
        (bytes, nl, cte) => {
          // A part that ends in CR, in a message whose lines end in bare LF, is ambiguous: the CR LF before
          // the boundary is the delimiter's line break (RFC 2046 5.1.1), so no server can give that CR back.
          fc.pre(!(nl === '\n' && bytes[bytes.length - 1] === 13));
          const sent = wrap(cte, Buffer.from(bytes), nl);
          const stored = encodeBinaryParts(sent);
          expect(stored.includes(0)).toBe(false);
          for (const line of stored.toString('latin1').split(/\r?\n/)) expect(line.length).toBeLessThanOrEqual(76);
          const back = binaryBytes(stored, parseMime(stored), [1]);
          expect(Buffer.compare(back as Buffer, Buffer.from(bytes))).toBe(0);
        },
      ),
    );
  });
  it('a message without a binary part is stored exactly as sent (the same buffer)', () => {
    const sent = wrap('base64', Buffer.from('AAEC'));
    expect(encodeBinaryParts(sent)).toBe(sent);
    const plain = Buffer.from('Subject: x\r\n\r\na\0b\r\n');
    expect(encodeBinaryParts(plain)).toBe(plain);
  });
});
