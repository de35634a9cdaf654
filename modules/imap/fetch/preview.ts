// FETCH PREVIEW (RFC 8970): the first words of a message, as a mail list shows them under the subject.
// From the first text/plain part (else text/html, its tags and the content of <style> and <script>
// removed, its character references decoded), lines quoting another message (">") left out, all
// whitespace folded to single spaces, then cut to 200 characters (RFC 8970 section 3: at most 200, and
// never more than 256 octets of UTF-8). Dovecot's preview follows the same rules
// (test/interop/imap-small-extensions.test.ts compares them). A message without text has the empty preview.
import type { MimePart } from '../../../mime/mime-tree.js';
import { firstText } from '../../../mime/mime-text.js';

const MAX_CHARS = 200;
const MAX_OCTETS = 256;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** HTML as the text a reader sees: no tags, no invisible elements, character references decoded. */
function htmlText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(?:br|p|div|li|tr|h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, ref: string) => {
      if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
}

/** The preview of the message `raw` (CRLF line ends) whose MIME tree is `tree`. */
export function previewText(raw: Buffer, tree: MimePart): string {
  const source = firstText(raw, tree);
  if (source === null) return '';
  const text = source.html ? htmlText(source.text) : source.text;
  const lines = text.split(/\r?\n/).filter((line) => !line.trimStart().startsWith('>'));
  // controls (and the replacement character of undecodable octets) read as spaces
  const folded = lines
    .join(' ')
    .replace(/[\s\x00-\x1f\x7f\u00a0\ufffd]+/gu, ' ')
    .trim();
  let out = [...folded].slice(0, MAX_CHARS).join('');
  while (Buffer.byteLength(out) > MAX_OCTETS) out = [...out].slice(0, -1).join('');
  return out.trimEnd();
}
