// A message's octets as SEARCH reads them: every bare LF made CRLF (RFC 9051 section 2.3.1; the evaluator
// gets modules/imap/fetch/crlf.ts toCrlf's output, which this floor cannot import; the two must agree, as a
// decoded text part keeps its line ends and a needle may hold one).
export function withCrlf(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) {
    if (i > 0 && raw[i - 1] === 13) continue;
    parts.push(raw.subarray(start, i), CRLF);
    start = i + 1;
  }
  if (parts.length === 0) return raw;
  parts.push(raw.subarray(start));
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');
