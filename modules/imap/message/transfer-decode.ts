// Content-Transfer-Encoding decoders (RFC 2045 section 6), lenient as RFC 2045 asks of readers:
// base64 ignores characters outside its alphabet and ends at "=" padding (section 6.8); quoted-printable
// drops trailing white space and soft line breaks and keeps a "=" not followed by two hex digits as it
// is (section 6.7, note (2)); its hard line breaks come out as CRLF. The one decoder of the IMAP module:
// FETCH BINARY[n] (binary.ts) and SEARCH BODY/TEXT (search/mime-text.ts) both undo encodings here.

const B64 = new Int8Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

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

export function decodeQuotedPrintable(data: Buffer): Buffer {
  // never longer than the input, but for a bare LF that becomes CRLF
  let lfs = 0;
  for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, i + 1)) lfs++;
  const out = Buffer.allocUnsafe(data.length + lfs);
  let n = 0;
  let pos = 0;
  while (pos < data.length) {
    let lf = data.indexOf(0x0a, pos);
    const hasNewline = lf >= 0;
    if (!hasNewline) lf = data.length;
    let end = hasNewline && lf > pos && data[lf - 1] === 0x0d ? lf - 1 : lf;
    while (end > pos && (data[end - 1] === 0x20 || data[end - 1] === 0x09)) end--; // transport padding
    let soft = false;
    if (end > pos && data[end - 1] === 0x3d) {
      soft = true;
      end--;
    }
    for (let i = pos; i < end; i++) {
      const c = data[i];
      if (c === 0x3d && i + 2 < end) {
        const h = hex(data[i + 1]);
        const l = hex(data[i + 2]);
        if (h >= 0 && l >= 0) {
          out[n++] = h * 16 + l;
          i += 2;
          continue;
        }
      }
      out[n++] = c;
    }
    if (hasNewline && !soft) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    }
    pos = hasNewline ? lf + 1 : data.length;
  }
  return out.subarray(0, n);
}
