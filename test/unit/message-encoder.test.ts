// The RETR/TOP encoder and the W= size counter against a plain reference, on random messages split
// into random chunks: what a client receives (after un-stuffing) is exactly as long as LIST says, but
// for the line end that RETR adds to an unterminated last line (Dovecot counts the same way).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrlfSizeCounter } from '../../store/crlf-size.js';
import { MessageEncoder } from '../../modules/pop/message-encoder.js';

/** The lines of a stored message as a client must see them: content without line ends. */
function referenceLines(stored: string): string[] {
  const parts = stored.split('\n');
  const last = parts.pop()!;
  const lines = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (last !== '') lines.push(last);
  return lines;
}

function referenceTop(lines: string[], n: number | undefined): string[] {
  if (n === undefined) return lines;
  const blank = lines.indexOf('');
  if (blank < 0) return lines;
  return lines.slice(0, blank + 1 + n);
}

function encode(chunks: Buffer[], bodyLines?: number): string {
  const enc = new MessageEncoder(bodyLines);
  const out: Buffer[] = [];
  for (const c of chunks) {
    out.push(enc.encode(c));
    if (enc.done) break;
  }
  out.push(enc.finish());
  return Buffer.concat(out).toString('latin1');
}

function unstuff(wire: string): string[] {
  expect(wire.endsWith('.\r\n')).toBe(true);
  const body = wire.slice(0, -3);
  if (body === '') return [];
  expect(body.endsWith('\r\n')).toBe(true);
  return body
    .slice(0, -2)
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? l.slice(1) : l));
}

const messageArb = fc.string({ unit: fc.constantFrom('a', 'b', '.', '\r', '\n', '\n', '\xe9'), maxLength: 300 });
const splitArb = fc.array(fc.nat(300), { maxLength: 8 });

function split(s: string, cuts: number[]): Buffer[] {
  const buf = Buffer.from(s, 'latin1');
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(buf.subarray(prev, p));
    prev = p;
  }
  chunks.push(buf.subarray(prev));
  return chunks;
}

describe('MessageEncoder', () => {
  it('RETR: CRLF everywhere, dots stuffed, size equal to the W= counter (plus the CRLF that ends an unterminated last line)', () => {
    fc.assert(
      fc.property(messageArb, splitArb, (message, cuts) => {
        const wire = encode(split(message, cuts));
        const lines = unstuff(wire);
        expect(lines).toEqual(referenceLines(message));
        // no bare LF and no unstuffed line starting with a dot reaches the wire
        expect(/(^|[^\r])\n/.test(wire)).toBe(false);
        const counter = new CrlfSizeCounter();
        for (const c of split(message, cuts)) counter.add(c);
        const unstuffedOctets = lines.reduce((n, l) => n + Buffer.byteLength(l, 'latin1') + 2, 0);
        // W= counts as Dovecot does: the line end RETR adds to an unterminated last line is not in it
        expect(counter.size + (counter.unterminated ? 2 : 0)).toBe(unstuffedOctets);
      }),
      { numRuns: 2000 },
    );
  });

  it('TOP n: the header, the blank line and n body lines', () => {
    fc.assert(
      fc.property(messageArb, splitArb, fc.nat(5), (message, cuts, n) => {
        expect(unstuff(encode(split(message, cuts), n))).toEqual(referenceTop(referenceLines(message), n));
      }),
      { numRuns: 2000 },
    );
  });

  it('passes a clean CRLF chunk through without copying', () => {
    const chunk = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(new MessageEncoder().encode(chunk)).toBe(chunk);
  });
});
