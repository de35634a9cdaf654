// i;unicode-casemap as SEARCH folds (mime/casemap.ts): simple titlecase then decomposition, character by
// character, as Dovecot 2.3's uni_utf8_to_decomposed_titlecase maps (RFC 5051 section 2).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { casemap, simpleTitlecase } from '../../mime/casemap.js';

const found = (needle: string, text: string) => casemap(text).includes(casemap(needle));

describe('i;unicode-casemap', () => {
  it('ASCII maps to upper case', () => {
    expect(casemap('Hello, World! 42')).toBe('HELLO, WORLD! 42');
  });

  it('accented letters decompose: "bu" is found in "Bücher", in either Unicode form', () => {
    expect(casemap('Bücher')).toBe('BU\u0308CHER');
    expect(found('bu', 'Bücher')).toBe(true);
    expect(found('bücher', 'BU\u0308CHER')).toBe(true);
    expect(found('BÜCHER', 'bu\u0308cher')).toBe(true);
    expect(found('cafe', 'Café')).toBe(true);
    expect(found('ångström', 'ÅNGSTRÖM')).toBe(true);
    expect(found('angstrom', 'Ångström')).toBe(false); // a mark inside the text stays between its letters
  });

  it('full-width letters decompose to ASCII: "abc" is found in "ＡＢＣ" and "ａｂｃ"', () => {
    expect(casemap('ＡＢＣ')).toBe('ABC');
    expect(found('abc', 'xxＡＢＣxx')).toBe(true);
    expect(found('ABC', 'ａｂｃ')).toBe(true);
  });

  it('a mapping may change the length: the needle and the text are mapped alike', () => {
    expect(casemap('ﬁ')).toBe('fi'); // a ligature has no case of its own: it decomposes to lower case
    expect(found('ﬁle', 'ﬁLE')).toBe(true);
    expect(found('file', 'ﬁle')).toBe(false); // FILE is not fiLE: RFC 5051 maps titlecase first
    expect(casemap('½')).toBe('1\u20442');
    expect(casemap('한')).toBe('\u1112\u1161\u11ab'); // Hangul syllables decompose algorithmically
  });

  it('simple titlecase, not the full upper case: ß stays, digraphs become their titlecase', () => {
    expect(casemap('Straße')).toBe('STRAßE');
    expect(found('strasse', 'Straße')).toBe(false);
    expect(found('STRAßE', 'straße')).toBe(true);
    expect(simpleTitlecase(0x01c6)).toBe(0x01c5); // dž -> Dž
    expect(simpleTitlecase(0x01c4)).toBe(0x01c5); // DŽ -> Dž
    expect(casemap('ǆ')).toBe('Dz\u030c'); // its titlecase Dž, decomposed
    expect(casemap('Ǆ')).toBe(casemap('ǅ'));
    expect(casemap('ᾳ')).toBe('\u0391\u0345'); // ᾼ, decomposed
    expect(simpleTitlecase(0x00b5)).toBe(0x039c); // µ -> Μ
    expect(simpleTitlecase(0x10d0)).toBe(0x10d0); // Georgian keeps its letter
    expect(simpleTitlecase(0x1f80)).toBe(0x1f88);
    expect(simpleTitlecase(0x0149)).toBe(0x0149); // ŉ: only a full mapping
  });

  it('Greek and Cyrillic: case-insensitive, accents decomposed', () => {
    expect(found('σοφία', 'ΣΟΦΊΑ')).toBe(true);
    expect(found('σοφ', 'ΣΟΦΊΑ')).toBe(true);
    expect(found('σοφια', 'ΣΟΦΊΑ')).toBe(false); // the accent stays between its letters
    expect(found('привет', 'ПРИВЕТ')).toBe(true);
    expect(found('ёлка', 'ЁЛКА')).toBe(true);
    expect(found('елка', 'Ёлка')).toBe(false); // Ё decomposes to Е and a diaeresis, which stays before Л
  });

  it('compatibility decompositions: the Kelvin sign is K, a no-break space a space', () => {
    expect(casemap('\u212a')).toBe('K');
    expect(casemap('a\u00a0b')).toBe('A B');
  });

  it('decomposes fully (NFKD), where Dovecot stops after one level', () => {
    expect(casemap('ệ')).toBe('E\u0323\u0302'); // Dovecot: Ẹ and a circumflex
    expect(found('nguye', 'Nguyễn')).toBe(true);
    expect(casemap('\u212b')).toBe('A\u030a'); // the Angstrom sign
  });

  it('puts combining marks in their canonical order, across characters too', () => {
    expect(casemap('a\u0301\u0323')).toBe(casemap('a\u0323\u0301'));
    expect(found('ạ\u0301', 'A\u0301\u0323')).toBe(true);
  });

  it('the same text in NFC and NFD maps alike (Latin, Greek and Cyrillic letters with accents)', () => {
    const letters = [...'aeiouAEIOUüÜéÉçÇñÑåÅœŒøØάέήίόύώΆΈΉΊΌΎΏϊϋёЁйЙїЇ ẞßﬁ'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...letters), { maxLength: 12 }), (chars) => {
        const s = chars.join('');
        expect(casemap(s.normalize('NFD'))).toBe(casemap(s.normalize('NFC')));
      }),
    );
  });

  it('a string is always found in itself, whatever its characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), (a, b) => {
        expect(found(a, `${b}${a}${b}`)).toBe(true);
      }),
    );
  });
});
