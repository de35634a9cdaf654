// The XTND XMIT reader against random messages, dot-stuffed as a client sends them and split into
// random chunks: the message comes back byte-exact, and what follows the end line is handed back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DotReader } from '../../sessions/dot-reader.js';

function stuff(message: string): string {
  const lines = message.split('\r\n');
  const last = lines.pop()!;
  const body = lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
  return `${lines.length ? `${body}\r\n` : ''}${last.startsWith('.') ? `.${last}` : last}${last === '' ? '' : '\r\n'}.\r\n`;
}

function feed(reader: DotReader, wire: Buffer, cuts: number[]): Buffer | null {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, wire.length]) {
    const rest = reader.push(wire.subarray(prev, p));
    if (rest !== null) return Buffer.concat([rest, wire.subarray(p)]);
    prev = p;
  }
  return null;
}

const lineArb = fc.string({ unit: fc.constantFrom('a', '.', ' ', '\r', 'x'), maxLength: 12 }).filter((l) => !l.includes('\r'));
const messageArb = fc.array(lineArb, { maxLength: 12 }).map((lines) => lines.map((l) => `${l}\r\n`).join(''));

describe('DotReader', () => {
  it('returns the message byte-exact and the bytes after the end line', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.nat(400), { maxLength: 6 }), (message, cuts) => {
        const reader = new DotReader(1 << 20);
        const rest = feed(reader, Buffer.from(`${stuff(message)}NOOP\r\n`, 'latin1'), cuts);
        expect(rest?.toString('latin1')).toBe('NOOP\r\n');
        expect(reader.data.toString('latin1')).toBe(message);
        expect(reader.size).toBe(message.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps nothing past the cap but still finds the end', () => {
    const reader = new DotReader(10);
    expect(reader.push(Buffer.from('0123456789abcdef\r\nmore\r\n'))).toBeNull();
    expect(reader.push(Buffer.from('.\r\nNEXT'))?.toString()).toBe('NEXT');
    expect(reader.overflow).toBe(true);
    expect(reader.size).toBe(24);
    expect(reader.data.length).toBe(0);
  });

  it('accepts a bare-LF end line', () => {
    const reader = new DotReader(100);
    expect(reader.push(Buffer.from('a\n..b\n.\nX'))?.toString()).toBe('X');
    expect(reader.data.toString()).toBe('a\n.b\n');
  });
});
