// Content-Transfer-Encoding decoders (RFC 2045 section 6), lenient as RFC 2045 asks of readers:
// base64 ignores characters outside its alphabet and ends at "=" padding (section 6.8); quoted-printable
// drops trailing white space and soft line breaks and keeps a "=" not followed by two hex digits as it
// is (section 6.7, note (2)); its hard line breaks come out as CRLF. The one decoder of the IMAP module:
// FETCH BINARY[n] (binary.ts) and SEARCH BODY/TEXT (search/mime-text.ts) both undo encodings here.

const B64 = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) B64[c.charCodeAt(0)] = i;

export function decodeBase64(data: Buffer): Buffer {
  const out = Buffer.alloc(Math.floor((data.length * 3) / 4) + 3);
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (const c of data) {
    if (c === 0x3d) break;
    const v = B64[c];
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** After a "=" at `i` that starts no escape: is it a soft line break (white space, then the line's end)? */
function softBreakEnd(data: Buffer, i: number): number {
  let j = i + 1;
  while (j < data.length && (data[j] === 0x20 || data[j] === 0x09)) j++;
  if (j >= data.length) return j;
  if (data[j] === 0x0a) return j + 1;
  if (data[j] === 0x0d && data[j + 1] === 0x0a) return j + 2;
  return -1;
}

export function decodeQuotedPrintable(data: Buffer): Buffer {
  // One pass, byte by byte (SEARCH decodes every quoted-printable body it reads): the white space
  // written at the end of a line is taken back when the line ends.
  const len = data.length;
  let out = Buffer.allocUnsafe(len); // never longer than the input, but for a bare LF that becomes CRLF
  let n = 0;
  let spaceFrom = -1; // where the run of white space that ends `out` starts, or -1
  for (let i = 0; i < len; i++) {
    const c = data[i];
    if (c > 0x20 && c !== 0x3d) {
      out[n++] = c; // most bytes: as they are
      spaceFrom = -1;
      continue;
    }
    if (c === 0x0a || (c === 0x0d && data[i + 1] === 0x0a)) {
      if (spaceFrom >= 0) n = spaceFrom; // transport padding
      spaceFrom = -1;
      const need = n + 2 + (len - i - (c === 0x0d ? 2 : 1)); // this CRLF, then at most a byte a byte
      if (need > out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, out.length * 2));
        out.copy(bigger, 0, 0, n);
        out = bigger;
      }
      out[n++] = 0x0d;
      out[n++] = 0x0a;
      if (c === 0x0d) i++;
      continue;
    }
    if (c === 0x3d) {
      const h = i + 2 < len ? hex(data[i + 1]) : -1;
      const l = h >= 0 ? hex(data[i + 2]) : -1;
      if (l >= 0) {
        out[n++] = h * 16 + l;
        spaceFrom = -1;
        i += 2;
        continue;
      }
      const after = softBreakEnd(data, i);
      if (after >= 0) {
        spaceFrom = -1;
        i = after - 1;
        continue;
      }
    }
    if (c === 0x20 || c === 0x09) {
      if (spaceFrom < 0) spaceFrom = n;
    } else spaceFrom = -1;
    out[n++] = c;
  }
  if (spaceFrom >= 0) n = spaceFrom; // padding at the end of the last line
  return out.subarray(0, n);
}
