// What a local delivery adds to a message before the store keeps it exactly (delivery/delivered-octets.ts):
// the same octets `postern deliver`, LMTP, bulletins and XTND XMIT stored before the store stopped editing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveredOctets, type DeliveryEdits } from '../../delivery/delivered-octets.js';

async function delivered(parts: string[], edits?: DeliveryEdits): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of deliveredOctets(
    (async function* () {
      for (const p of parts) yield Buffer.from(p, 'latin1');
    })(),
    edits,
  ))
    out.push(c);
  return Buffer.concat(out).toString('latin1');
}

describe('the octets a delivery stores', () => {
  it("a piped message: its mbox From line dropped, the route's header on top in the message's line-end style", async () => {
    expect(
      await delivered(['From sender Mon Jan  1 00:00:00 2026\nSubject: x\n\nb\n'], {
        dropMboxFromLine: true,
        extraHeader: 'X-Real-To: abc@example.org',
      }),
    ).toBe('X-Real-To: abc@example.org\nSubject: x\n\nb\n');
    expect(
      await delivered(['From sender Mon Jan  1 00:00:00 2026\r\nSubject: x\r\n\r\nb\r\n'], {
        dropMboxFromLine: true,
        extraHeader: 'X-Real-To: a@b',
      }),
    ).toBe('X-Real-To: a@b\r\nSubject: x\r\n\r\nb\r\n');
    // not asked: the From line stays
    expect(await delivered(['From sender Mon Jan  1 00:00:00 2026\nSubject: y\n\nb\n'])).toBe(
      'From sender Mon Jan  1 00:00:00 2026\nSubject: y\n\nb\n',
    );
  });

  it("an MTA's transaction: Return-Path first (CRLF, RFC 5321 4.4), the route's header above it, a From line kept", async () => {
    expect(
      await delivered(['From x\nSubject: z\n\nb'], {
        returnPath: 'sender@example.net',
        extraHeader: 'X-Real-To: a@b',
        dropMboxFromLine: true,
      }),
      // the style of the first line, Return-Path
    ).toBe('X-Real-To: a@b\r\nReturn-Path: <sender@example.net>\r\nFrom x\nSubject: z\n\nb\r\n');
    expect(await delivered([], { returnPath: '' })).toBe('Return-Path: <>\r\n');
  });

  it('a last line without a line end gets one; nothing else changes, however the input is cut into chunks', async () => {
    expect(await delivered(['Subject: two\r\n\r\nno final newline'])).toBe('Subject: two\r\n\r\nno final newline\r\n');
    expect(await delivered(['short'], { extraHeader: 'X-Real-To: a@b' })).toBe('X-Real-To: a@b\nshort\n');
    expect(await delivered([])).toBe('');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary-ascii', maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), async (text, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const parts = [0, ...points].map((p, i, all) => text.slice(p, all[i + 1] ?? text.length));
        const whole = await delivered([text], { extraHeader: 'X-A: 1' });
        expect(await delivered(parts, { extraHeader: 'X-A: 1' })).toBe(whole);
        const body = text.length > 0 && !text.endsWith('\n') ? `${text}\n` : text;
        if (text.length > 0) expect(whole.endsWith(body.slice(-1))).toBe(true);
      }),
    );
  });
});
