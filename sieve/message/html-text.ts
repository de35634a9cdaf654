// The text body :text reads from a text/html part (RFC 5173 section 5.1 leaves the conversion to the server):
// Dovecot's rules (lib-mail mail-html2text, which Pigeonhole's body test uses), so a script finds the words a
// reader sees exactly when Pigeonhole does. Tags go, each tag's end leaving one space (none after white space);
// comments, <script> and <style> with their content go; <![CDATA[...]]> keeps its text; character references
// (&amp; &#233; &#xe9;) are decoded, an unknown one vanishes and a broken one (white space, or longer than nine
// characters before its ";") loses its "&". Quoted attribute values may hold ">". Line breaks stay as written.

/** The HTML 4 entity names (HTML 4.01 section 24): Latin-1 160..255 in order, then the ones outside it. */
const LATIN1 =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para ' +
  'middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute ' +
  'Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute ' +
  'THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ' +
  'ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml';

const OTHERS: Record<string, number> = {
  quot: 34,
  amp: 38,
  apos: 39,
  lt: 60,
  gt: 62,
  OElig: 338,
  oelig: 339,
  Scaron: 352,
  scaron: 353,
  Yuml: 376,
  fnof: 402,
  circ: 710,
  tilde: 732,
  ensp: 8194,
  emsp: 8195,
  thinsp: 8201,
  zwnj: 8204,
  zwj: 8205,
  lrm: 8206,
  rlm: 8207,
  ndash: 8211,
  mdash: 8212,
  lsquo: 8216,
  rsquo: 8217,
  sbquo: 8218,
  ldquo: 8220,
  rdquo: 8221,
  bdquo: 8222,
  dagger: 8224,
  Dagger: 8225,
  bull: 8226,
  hellip: 8230,
  permil: 8240,
  prime: 8242,
  Prime: 8243,
  lsaquo: 8249,
  rsaquo: 8250,
  euro: 8364,
  trade: 8482,
  larr: 8592,
  rarr: 8594,
  harr: 8596,
  minus: 8722,
};

/** Entity name (lower case: Dovecot compares them ignoring case, the first of a name's spellings wins) to code point. */
const ENTITIES = new Map<string, number>();
for (const [i, name] of LATIN1.split(' ').entries()) if (!ENTITIES.has(name.toLowerCase())) ENTITIES.set(name.toLowerCase(), 160 + i);
for (const [name, code] of Object.entries(OTHERS)) if (!ENTITIES.has(name.toLowerCase())) ENTITIES.set(name.toLowerCase(), code);

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** The code point of a reference's name (without & and ;), or null when unknown. */
function entity(name: string): number | null {
  const known = ENTITIES.get(name.toLowerCase());
  if (known !== undefined) return known;
  const m = /^#(?:x([0-9a-fA-F]+)|(\d+))$/.exec(name);
  if (m === null) return null;
  const code = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
  return code <= 0x10ffff ? code : null;
}

/** The text of an HTML document as Pigeonhole's body :text reads it. */
export function htmlToText(html: string): string {
  let out = '';
  const space = () => {
    if (out.length > 0 && !isSpace(out[out.length - 1])) out += ' ';
  };
  const startsAt = (i: number, s: string) => html.slice(i, i + s.length).toLowerCase() === s;
  let i = 0;
  const n = html.length;
  while (i < n) {
    const c = html[i];
    if (c === '&') {
      let j = i + 1;
      while (j < n && html[j] !== ';' && !isSpace(html[j]) && j - i - 1 < 10) j++;
      if (j >= n) break; // the reference never ends: the rest is dropped (Dovecot waits for more input)
      if (html[j] !== ';') {
        i++; // broken: only the "&" goes
        continue;
      }
      const code = entity(html.slice(i + 1, j));
      if (code !== null) out += String.fromCodePoint(code);
      i = j + 1;
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    // a tag, a comment, a script, a style, a CDATA section
    if (startsAt(i + 1, '!--')) {
      const end = html.indexOf('-->', i + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const named = (name: string) => startsAt(i + 1, name) && (isSpace(html[i + 1 + name.length]) || html[i + 1 + name.length] === '>');
    if (named('script') || named('style')) {
      const close = named('script') ? '</script>' : '</style>';
      const end = html.toLowerCase().indexOf(close, i + 1);
      if (end < 0) break;
      space();
      i = end + close.length;
      continue;
    }
    if (startsAt(i + 1, '![cdata[')) {
      const end = html.indexOf(']]>', i + 9);
      out += html.slice(i + 9, end < 0 ? n : end);
      i = end < 0 ? n : end + 3;
      continue;
    }
    let j = i + 1;
    let quote: string | null = null;
    for (; j < n; j++) {
      const d = html[j];
      if (quote !== null) {
        if (d === '\\') j++;
        else if (d === quote) quote = null;
      } else if (d === '"' || d === "'") quote = d;
      else if (d === '>') break;
    }
    if (j >= n) break;
    space();
    i = j + 1;
  }
  return out;
}
