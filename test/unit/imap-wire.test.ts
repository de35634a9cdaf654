// The IMAP wire layer in-process: commands framed with literals whatever the chunking of the bytes,
// the limits (bounded memory: an over-long line is dropped as it arrives), the argument cursor and
// sequence sets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCommand, type ReaderHooks, type ReadResult } from '../../modules/imap/wire/command-reader.js';
import { Cursor } from '../../modules/imap/wire/cursor.js';
import { imapString } from '../../modules/imap/wire/encode.js';
import { LineInput as ImapInput } from '../../sessions/line-input.js';
import { formatSet, parseSequenceSet, resolveSet, STAR } from '../../modules/imap/wire/sequence-set.js';

const source = { pause: () => {}, resume: () => {} };

function hooks(continued: string[] = []): ReaderHooks {
  return { continueLiteral: () => continued.push('+'), streams: () => false };
}

async function readAll(chunks: Buffer[], maxCommand = 4096): Promise<ReadResult[]> {
  const input = new ImapInput(source);
  for (const c of chunks) input.push(c);
  input.end();
  const out: ReadResult[] = [];
  for (;;) {
    const r = await readCommand(input, { maxCommand }, hooks());
    if (r.kind === 'closed') return out;
    out.push(r);
  }
}

function flatten(r: ReadResult): string {
  if (r.kind !== 'command') return `${r.kind}:${r.kind === 'refused' ? r.code : ''}`;
  return r.parts.map((p) => (p.kind === 'text' ? p.bytes.toString('latin1') : `<${p.bytes.toString('latin1')}>`)).join('');
}

describe('IMAP framing', () => {
  it('reads lines and literals of both kinds, and asks for a synchronising literal only', async () => {
    const input = new ImapInput(source);
    const asked: string[] = [];
    input.push(Buffer.from('a1 LOGIN {5}\r\nalice {3+}\r\npw!\r\na2 NOOP\r\n'));
    const first = await readCommand(input, { maxCommand: 1000 }, hooks(asked));
    expect(flatten(first)).toBe('a1 LOGIN <alice> <pw!>');
    expect(asked).toEqual(['+']);
    expect(flatten(await readCommand(input, { maxCommand: 1000 }, hooks(asked)))).toBe('a2 NOOP');
  });

  it('frames the same commands however the bytes are split', async () => {
    const commands = fc.array(
      fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9 ]{0,40}$/).map((t) => ({ wire: `t ${t}\r\n`, parsed: `t ${t}` })),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => {
          const b = Buffer.from(bytes);
          return { wire: `t X {${b.length}+}\r\n${b.toString('latin1')} end\r\n`, parsed: `t X <${b.toString('latin1')}> end` };
        }),
      ),
      { minLength: 1, maxLength: 8 },
    );
    await fc.assert(
      fc.asyncProperty(commands, fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), async (cmds, cuts) => {
        const all = Buffer.from(cmds.map((c) => c.wire).join(''), 'latin1');
        const chunks: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < all.length; i++) {
          const n = cuts[i % cuts.length];
          chunks.push(all.subarray(at, at + n));
          at += n;
        }
        const read = await readAll(chunks);
        expect(read.map(flatten)).toEqual(cmds.map((c) => c.parsed));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what passes the command limit, keeps the tag, and reads the next command', async () => {
    const read = await readAll(
      [Buffer.from(`a1 NOOP ${'x'.repeat(100_000)}\r\na2 LOGIN {50000+}\r\n${'y'.repeat(50_000)}\r\na3 NOOP\r\n`)],
      1024,
    );
    expect(read[0]).toMatchObject({ kind: 'refused', tag: 'a1', code: 'TOOBIG' });
    expect(read[1]).toMatchObject({ kind: 'refused', tag: 'a2', code: 'TOOBIG' });
    expect(flatten(read[2])).toBe('a3 NOOP');
    expect(read).toHaveLength(3);
  });

  it('never holds an endless line: memory stays bounded while it is dropped', async () => {
    const input = new ImapInput(source);
    const reading = readCommand(input, { maxCommand: 1024 }, hooks());
    for (let i = 0; i < 200; i++) input.push(Buffer.alloc(64 * 1024, 0x61));
    await new Promise((r) => setImmediate(r));
    expect(input.pending).toBe(false); // every chunk was consumed (dropped), none kept
    input.push(Buffer.from('\r\n'));
    expect(await reading).toMatchObject({ kind: 'refused', code: 'TOOBIG' });
  });
});

describe('IMAP arguments', () => {
  const cursor = (text: string, literals: string[] = []) => {
    const texts = text.split('<L>');
    const parts = texts.flatMap((t, i) =>
      i < literals.length
        ? [
            { kind: 'text' as const, bytes: Buffer.from(t) },
            { kind: 'literal' as const, bytes: Buffer.from(literals[i]), binary: false },
          ]
        : [{ kind: 'text' as const, bytes: Buffer.from(t) }],
    );
    return new Cursor(parts);
  };

  it('reads atoms, quoted strings with escapes, literals and lists', () => {
    const c = cursor('abc "q \\"x\\" \\\\" <L> (A B)', ['lit']);
    expect(c.astring()).toBe('abc');
    c.sp();
    expect(c.astring()).toBe('q "x" \\');
    c.sp();
    expect(c.astring()).toBe('lit');
    c.sp();
    const items: string[] = [];
    c.list(() => items.push(c.atom()));
    expect(items).toEqual(['A', 'B']);
    c.end();
  });

  it('says what it expected where', () => {
    expect(() => cursor('"unterminated').astring()).toThrow(/closing quote/);
    expect(() => cursor('(A B').list(() => cursor('').atom())).toThrow();
  });

  it('encodes strings as quoted or literal', () => {
    expect(imapString('plain').toString()).toBe('"plain"');
    expect(imapString('a"b').toString()).toBe('"a\\"b"');
    expect(imapString('two\r\nlines').toString()).toBe('{10}\r\ntwo\r\nlines');
    expect(imapString(Buffer.from([0xe9])).toString('latin1')).toBe('{1}\r\n\xe9');
  });
});

describe('sequence sets', () => {
  it('parses ranges in either order and *', () => {
    expect(parseSequenceSet('1:3,5,*')).toEqual([
      [1, 3],
      [5, 5],
      [STAR, STAR],
    ]);
    expect(resolveSet(parseSequenceSet('4:2,9,*'), [1, 2, 3, 4, 7, 9, 12])).toEqual([2, 3, 4, 9, 12]);
    expect(resolveSet(parseSequenceSet('*'), [])).toEqual([]);
    expect(() => parseSequenceSet('0')).toThrow(/1 to 4294967295/);
    expect(() => parseSequenceSet('1:')).toThrow(/not a sequence set/);
  });

  it('formats sets compactly', () => {
    expect(formatSet([1, 2, 3, 7, 9, 10])).toBe('1:3,7,9:10');
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 500 })), (nums) => {
        const sorted = [...nums].sort((a, b) => a - b);
        const back = nums.length === 0 ? [] : resolveSet(parseSequenceSet(formatSet(nums)), sorted);
        expect(back).toEqual(sorted);
      }),
    );
  });
});
