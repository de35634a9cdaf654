// RFC 2047 encoded words read as Dovecot's lib-mail reads them (mime/encoded-words.ts): each expected value
// below is what Pigeonhole 0.5.19's sieve-test (Dovecot 2.3.19) gives for `header :matches "X" "*"` on the
// same field, except where a comment says Postern differs on purpose.
import { describe, expect, it } from 'vitest';
import { decodeEncodedWords } from '../../mime/charset.js';
import { utf8AsDovecot } from '../../mime/encoded-words.js';

describe('RFC 2047 encoded words as Dovecot reads them', () => {
  const cases: [string, string][] = [
    // A word with no valid base64 gives nothing; white space before a `=?` goes even when no word follows.
    ['=?UTF-8?B?!!notbase64?= and =?X-UNKNOWN?Q?abc?= =?utf-8?q?half', ' and abc=?utf-8?q?half'],
    ['=?utf-8?B?U2Ft!!?=', 'Sam'],
    ['=?utf-8?B?U2F?=x', 'Sax'],
    ['=?utf-8?B?QQ==QUJD?=', 'A'],
    ['=?utf-8?B?QU JD?=', 'ABC'],
    ['=?utf-8?q?a=zzb=4?=', 'a=zzb=4'],
    ['=?utf-8?q?a=3d=3D_b?=', 'a== b'],
    ['=?utf-8?qq?abc?=', 'abc'],
    ['=?utf-8?x?abc?= =?nope', '=?utf-8?x?abc?= =?nope'],
    ['plain   =?utf-8?q?x?=   =?utf-8?q?y?=  tail', 'plain   xy  tail'],
    ['=?utf-8?q?x?==?utf-8?q?y?=', 'xy'],
    ['a=?utf-8?q?x?=b', 'axb'],
    ['"=?utf-8?q?Z=C3=BCrich?=" <z@example.ch>', '"Zürich" <z@example.ch>'],
    ['=?iso-8859-1?q?caf=E9?= =?utf-8?q?_ok?=', 'café ok'],
    ['=?utf-8*en?q?hello_world?=', 'hello world'],
    ['=?utf-8?q?a b?= c', 'a b c'],
    ['=?utf-8?q??= x', ' x'],
    ['x =?utf-8?q?a?= =? y', 'x a=? y'],
    ['=?windows-1252?q?=80?=', '€'],
    ['=?us-ascii?q?a=E9?=', 'a\ufffd'],
    ['no words at all', 'no words at all'],
  ];
  for (const [raw, decoded] of cases) {
    it(raw, () => {
      expect(decodeEncodedWords(raw)).toBe(decoded);
    });
  }

  it('joins a character split across two words of one charset (Dovecot shows U+FFFD)', () => {
    expect(decodeEncodedWords('=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=')).toBe('café');
    expect(decodeEncodedWords('=?utf-8?b?w6nD?= =?UTF-8?b?qMOg?=')).toBe('éèà');
  });

  it('a long word decodes without exhausting the stack', () => {
    const text = 'x'.repeat(300_000);
    expect(decodeEncodedWords(`=?utf-8?b?${Buffer.from(text).toString('base64')}?= =?utf-8?q?y?=`)).toBe(`${text}y`);
  });

  it('invalid UTF-8 octets read as one U+FFFD a run, as Dovecot reads them', () => {
    expect(utf8AsDovecot(Buffer.from('Gr\xfc\xdfe aus K\xf6ln', 'latin1'))).toBe('Gr\ufffde aus K\ufffdln');
    expect(decodeEncodedWords('=?utf-8?q?a=FC=DF=FFb?=')).toBe('a\ufffdb');
    expect(utf8AsDovecot(Buffer.from('caf\u00e9 \ufffd\ufffd'))).toBe('caf\u00e9 \ufffd\ufffd');
  });
});
