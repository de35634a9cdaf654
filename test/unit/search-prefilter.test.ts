import { describe, expect, it } from 'vitest';
import { cannotHold } from '../../mime/search-prefilter.js';
import { fold } from '../../mime/mime-text.js';
import { matches, type SearchMessage } from '../../modules/imap/search/evaluate.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

const plain = (body: string, extra: string[] = []) =>
  crlf(['From: Ann <ann@example.org>', 'Subject: hello there', ...extra, 'Content-Type: text/plain; charset=us-ascii', '', body, '']);

const test = (needle: string) => {
  const t = cannotHold(fold(needle));
  if (t === null) throw new Error(`no test for ${needle}`);
  return t;
};

function message(raw: Buffer): SearchMessage {
  return {
    uid: 1,
    size: raw.length,
    flags: new Set(),
    internalDate: async () => new Date(0),
    header: async () => raw,
    raw: async () => raw,
  };
}

describe('the SEARCH prefilter on raw octets', () => {
  it('says "cannot" for a plain ASCII message without the needle, in any case', () => {
    expect(test('needle')(plain('nothing to see here'))).toBe(true);
    expect(test('NEEDLE')(plain('nothing to see here'))).toBe(true);
    expect(test('ann@example')(plain('nothing'))).toBe(false); // in the From field
    expect(test('needle')(plain('a NeEdLe in it'))).toBe(false);
  });

  it('says "maybe" where decoding could make the needle', () => {
    const qp = crlf(['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '', 'nee=\r\ndle', '']);
    expect(test('needle')(qp)).toBe(false);
    const b64 = crlf(['Content-Type: text/plain', 'Content-Transfer-Encoding: BASE64', '', Buffer.from('needle').toString('base64'), '']);
    expect(test('needle')(b64)).toBe(false);
    expect(test('needle')(crlf(['Subject: =?us-ascii?Q?ne=65dle?=', '', 'x']))).toBe(false);
    expect(test('abc')(Buffer.from('Subject: \uff21\uff22\uff23\r\n\r\nx', 'utf8'))).toBe(false); // full-width ABC
    expect(test('needle')(plain('+AG4AZQBlAGQAbABl-'))).toBe(true); // us-ascii: read as it is
    const utf7 = crlf(['Content-Type: text/plain; charset=UTF-7', '', '+AG4AZQBlAGQAbABl-', '']);
    expect(test('needle')(utf7)).toBe(false);
    const jis = crlf(['Content-Type: text/plain; charset="iso-2022-jp"', '', '\x1b$B#A#B#C\x1b(B', '']);
    expect(test('abc')(jis)).toBe(false);
    const rfc2231 = crlf(["Content-Type: text/plain; charset*=utf-7''", '', 'x', '']);
    expect(test('needle')(rfc2231)).toBe(false);
    const comment = crlf(['Content-Type: text/plain; charset (c) = utf-7', '', 'x', '']);
    expect(test('needle')(comment)).toBe(false);
  });

  it('reads the usual charset parameters', () => {
    for (const cs of ['us-ascii', '"ISO-8859-15"', 'utf-8', 'Windows-1252', 'koi8-r'])
      expect(test('needle')(crlf([`Content-Type: text/plain; charset=${cs}`, '', 'plain words', '']))).toBe(true);
    expect(test('needle')(plain('the charsets we know'))).toBe(true);
  });

  it('has no test for needles with white space, control characters or a colon', () => {
    expect(cannotHold(fold('two words'))).toBeNull();
    expect(cannotHold(fold('from:'))).toBeNull();
    expect(cannotHold(fold('a\tb'))).toBeNull();
  });

  it('says "cannot" for a needle that folds to non-ASCII in an ASCII message', () => {
    expect(test('bücher')(plain('Bucher and books'))).toBe(true);
  });

  it('never says "cannot" where the evaluator finds the needle (generated messages)', async () => {
    let state = 7;
    const rnd = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
      return state % n;
    };
    const words = ['needle', 'Needle', 'nee', 'dle', 'abc', 'ＡＢＣ', 'Bücher', 'x', 'from', 'charset', 'base', '64', '=', '?', ':'];
    const pick = () => words[rnd(words.length)];
    const phrase = () => Array.from({ length: 1 + rnd(6) }, pick).join(rnd(3) === 0 ? '' : ' ');
    const kinds = [
      (t: string) => Buffer.from(`Subject: ${t}\r\nFrom: a@b\r\n\r\n${phrase()}\r\n`, 'utf8'),
      (t: string) => Buffer.from(`Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${t}\r\n`, 'utf8'),
      (t: string) => Buffer.from(`Subject: ${t.slice(0, 3)}\r\n ${t.slice(3)}\r\n\r\nbody\r\n`, 'utf8'),
      (t: string) =>
        Buffer.from(
          'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n' +
            `X-Note: ${t}\r\n\r\n${phrase()}\r\n--b--\r\n`,
          'utf8',
        ),
      (t: string) =>
        Buffer.from(
          'Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
            `${Buffer.from(t, 'utf8').toString('latin1').replace(/e/g, '=65')}\r\n`,
          'latin1',
        ),
      (t: string) => Buffer.from(`Subject: =?utf-8?B?${Buffer.from(t).toString('base64')}?=\r\n\r\nx\r\n`, 'latin1'),
      (t: string) => Buffer.from(`From :${t}\r\nSubject:${t}\r\n\r\n${phrase()}`, 'utf8'),
    ];
    let checked = 0;
    for (let i = 0; i < 600; i++) {
      const raw = kinds[rnd(kinds.length)](phrase());
      for (const needle of ['needle', 'NEEDLE', 'abc', 'bu', 'bücher', 'ee', 'from', 'x']) {
        const t = cannotHold(fold(needle));
        if (t === null || !t(raw)) continue;
        checked++;
        for (const where of ['text', 'body'] as const)
          expect(await matches({ kind: 'text', where, value: needle }, message(raw)), `${needle} in ${raw.toString('utf8')}`).toBe(false);
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
