// The shared line input (sessions/line-input.ts) with POP's dot framing as a layer on it: a command, a
// dot-stuffed message and the commands pipelined after it come back apart whatever the chunking, and a
// line that never ends is reported as endless once past the caller's bound, in bounded memory.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDotMessage } from '../../sessions/dot-reader.js';
import { LineInput } from '../../sessions/line-input.js';

const source = { pause: () => {}, resume: () => {} };

function chunked(data: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, data.length]) {
    if (c > from) out.push(data.subarray(from, c));
    from = c;
  }
  return out;
}

describe('line input', () => {
  it('reads a command, the dot-stuffed message after it and the next command, however the bytes arrive', async () => {
    const wire = Buffer.from('XTND XMIT\r\nSubject: x\r\n..dot\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 8 }), async (cuts) => {
        const input = new LineInput(source);
        const pieces = chunked(wire, cuts);
        const reading = (async () => {
          const first = await input.line(100);
          const message = await readDotMessage(input, 1000);
          const next = await input.line(100);
          const last = await input.line(100);
          return { first, message: message.data.toString(), next, last };
        })();
        for (const p of pieces) {
          await Promise.resolve();
          input.push(p);
        }
        const got = await reading;
        expect(got.first).toEqual({ kind: 'line', bytes: Buffer.from('XTND XMIT') });
        expect(got.message).toBe('Subject: x\r\n.dot\r\nbody\r\n');
        expect(got.next).toEqual({ kind: 'line', bytes: Buffer.from('NOOP') });
        expect(got.last).toEqual({ kind: 'line', bytes: Buffer.from('QUIT') });
      }),
    );
  });

  it('a too-long line is dropped to its end; one with no end is reported endless past the bound', async () => {
    const input = new LineInput(source);
    input.push(Buffer.from(`${'x'.repeat(50)}\r\nok\r\n`));
    expect((await input.line(20)).kind).toBe('too-long');
    expect(await input.line(20)).toEqual({ kind: 'line', bytes: Buffer.from('ok') });
    let read: Awaited<ReturnType<LineInput['line']>> | null = null;
    void input.line(20, 1000).then((r) => (read = r));
    let pushed = 0;
    while (read === null && pushed < 100) {
      input.push(Buffer.alloc(100, 0x79));
      pushed += 1;
      await new Promise((r) => setImmediate(r));
      expect(input.pending).toBe(false); // dropped as it arrives, never held
    }
    expect(read).toMatchObject({ kind: 'too-long', endless: true });
    expect(pushed).toBe(11); // past 1,000 octets dropped
  });
});
