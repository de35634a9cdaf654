// How header text becomes an IMAP string value (RFC 9051 section 9: string cannot hold CR or LF).
// Like Dovecot: Subject and display names are made "for humans" (unfolded, runs of white space to one
// space, trimmed, NUL shown as 0x80); Date, Message-ID, In-Reply-To, Content-ID, Content-Description,
// Content-MD5 and Content-Location only lose their folding CRLFs.

/** Folding CRLFs (and stray CR/LF) removed. */
export function noLf(value: Buffer): Buffer {
  if (value.indexOf(0x0d) < 0 && value.indexOf(0x0a) < 0) return value;
  return Buffer.from(value.filter((c) => c !== 0x0d && c !== 0x0a));
}

/** Unfolded, white space collapsed and trimmed. */
export function forHumans(value: Buffer): Buffer {
  const out: number[] = [];
  let lastLwsp = true;
  let wsPrefix = true;
  for (const c of value) {
    if (c === 0) {
      out.push(0x80);
      lastLwsp = false;
    } else if (c === 0x20 || c === 0x09) {
      if (!lastLwsp) out.push(0x20);
      lastLwsp = true;
    } else if (c === 0x0d || c === 0x0a) {
      continue;
    } else {
      lastLwsp = false;
      out.push(c);
    }
    if (!lastLwsp) wsPrefix = false;
  }
  if (lastLwsp && value.length > 0 && !wsPrefix && out[out.length - 1] === 0x20) out.pop();
  return Buffer.from(out);
}
