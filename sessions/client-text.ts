// Client text inside the human-readable part of a response (resp-text, RFC 9051 section 9: no CR or LF).
// Never a client's raw octets: an error that quotes what the client sent shows it through quoteClient
// (printable ASCII, quoted, truncated), and every tagged answer passes through responseText on its way
// out, so a CR LF or an 8-bit octet that reaches an error text by any path cannot start a forged line
// (`* 99 EXISTS`) or be re-encoded into something the client did not send.

/** One octet as it may appear in response text: printable ASCII as itself, anything else as \xNN. */
function shown(c: number): string {
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c);
  return `\\x${c.toString(16).padStart(2, '0')}`;
}

/**
 * What the client sent, for an error text: in double quotes, at most `max` octets of it ("..." after
 * more), each octet outside printable ASCII shown as \xNN and a quote or backslash escaped. A string
 * is taken as UTF-8 (what the argument parser decoded it from).
 */
export function quoteClient(value: string | Buffer, max = 40): string {
  const octets = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  const end = Math.min(octets.length, max);
  for (let i = 0; i < end; i++) {
    const c = octets[i];
    out += c === 0x22 || c === 0x5c ? `\\${String.fromCharCode(c)}` : shown(c);
  }
  return `"${out}${octets.length > max ? '...' : ''}"`;
}

/** A response's text made safe to send: every character outside printable ASCII shown as the \xNN of its UTF-8 octets. */
export function responseText(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f) out += ch;
    else for (const c of Buffer.from(ch, 'utf8')) out += shown(c);
  }
  return out;
}
