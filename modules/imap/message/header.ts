// Header fields of one header section (RFC 5322 section 2.2): name, unfolded-by-the-reader value and
// the raw lines. The value is what Dovecot calls the full value: the bytes after the colon with the first
// line's leading white space skipped, the folding CRLFs kept (readers treat them as white space), the
// final CRLF left out.

export interface HeaderField {
  /** lower-case field name (trailing white space before the colon dropped) */
  name: string;
  value: Buffer;
  /** the field's raw lines, [start, end) in the message, the last CRLF included when there is one */
  start: number;
  end: number;
}

/** The fields of raw[start, end) (a header section, its blank line excluded or not). */
export function headerFields(raw: Buffer, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  const valueStarts: number[] = [];
  let pos = start;
  while (pos < end) {
    let lf = raw.indexOf(0x0a, pos);
    if (lf < 0 || lf >= end) lf = end;
    const next = lf < end ? lf + 1 : end;
    const lineEnd = lf > pos && raw[lf - 1] === 0x0d ? lf - 1 : lf;
    if (lineEnd === pos && lf < end) break; // the blank line that ends the header
    const c = raw[pos];
    if ((c === 0x20 || c === 0x09) && fields.length > 0) {
      fields[fields.length - 1].end = next; // a continuation line (RFC 5322 section 2.2.3)
      pos = next;
      continue;
    }
    const colon = raw.indexOf(0x3a, pos);
    let nameEnd = colon >= 0 && colon < lineEnd ? colon : lineEnd;
    valueStarts.push(nameEnd < lineEnd ? nameEnd + 1 : lineEnd);
    while (nameEnd > pos && (raw[nameEnd - 1] === 0x20 || raw[nameEnd - 1] === 0x09)) nameEnd--;
    fields.push({ name: raw.toString('latin1', pos, nameEnd).toLowerCase(), value: Buffer.alloc(0), start: pos, end: next });
    pos = next;
  }
  fields.forEach((f, i) => {
    let v = valueStarts[i];
    let e = f.end;
    if (e > v && raw[e - 1] === 0x0a) e--;
    if (e > v && raw[e - 1] === 0x0d) e--;
    while (v < e && (raw[v] === 0x20 || raw[v] === 0x09)) v++;
    f.value = raw.subarray(v, e);
  });
  return fields;
}
