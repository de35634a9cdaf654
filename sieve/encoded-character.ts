// RFC 5228 section 2.4.2.4: "${hex:...}" and "${unicode:...}" in strings, when "encoded-character" is required.

const SEQUENCE = /\$\{(hex|unicode):([\s0-9a-fA-F]*)\}/gi;

/** Decodes the encoded characters of one string; an invalid sequence stays as written (the RFC's rule). */
export function decodeEncodedCharacters(s: string): { value: string; error: string | null } {
  if (!s.includes('${')) return { value: s, error: null };
  let error: string | null = null;
  const value = s.replace(SEQUENCE, (whole, kind: string, body: string) => {
    const items = body
      .trim()
      .split(/\s+/)
      .filter((x) => x.length > 0);
    if (items.length === 0) return whole;
    if (kind.toLowerCase() === 'hex') {
      if (items.some((h) => h.length > 2)) return whole;
      return Buffer.from(items.map((h) => Number.parseInt(h, 16))).toString('utf8');
    }
    let out = '';
    for (const u of items) {
      const cp = Number.parseInt(u, 16);
      if (u.length > 6 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        error ??= `invalid unicode character 0x${cp.toString(16).padStart(8, '0')} in encoded character substitution.`;
        return whole;
      }
      out += String.fromCodePoint(cp);
    }
    return out;
  });
  return { value, error };
}
