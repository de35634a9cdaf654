// dovecot-uidlist, version 3: the map from message file to IMAP UID, read and written as Dovecot 2.3
// reads and writes it, so that Dovecot and Postern serving one Maildir agree on every UID.
//
//   3 V1796113780 N20 Gc499231574850e6b3171000083ecc375 [unknown header fields]
//   4 :1796113801.M477348P30011.vm,S=56,W=60
//   6 W54 Pold-uidl :weirdname
//
// Header: the version, then V (UIDVALIDITY), N (a next-UID hint: Dovecot appends records without
// updating it, so the next UID is max(N, last UID + 1)), G (the mailbox GUID, 32 hex digits), then any
// other fields, kept as they are. Records: the UID, fields (an upper-case letter and a value: S and W
// sizes, P a POP3 UIDL, O a POP3 order, G a GUID, others kept verbatim), a space and ":", then the
// file's base name (everything before the first ":" of its name, ",S=" and ",W=" included). UIDs
// ascend strictly. Dovecot rereads an appended file from where it stopped, so the file is only ever
// appended to in whole lines or replaced by a rename, never edited in place.

export interface UidlistRecord {
  readonly uid: number;
  readonly base: string;
  /** The fields as written ("W54", "Pold-uidl", "Zunknown"), in order. */
  readonly fields: readonly string[];
}

export interface UidlistHeader {
  readonly uidValidity: number;
  /** The N field as written (a hint; see nextUid()). */
  readonly nextUidHint: number;
  readonly guid: string | null;
  /** Header fields other than V, N and G, as written ("Qvalue"), in order. */
  readonly extra: readonly string[];
}

export interface Uidlist {
  readonly header: UidlistHeader;
  readonly records: readonly UidlistRecord[];
}

/** The file is not one Dovecot would accept; it must be left alone (Dovecot itself rebuilds it). */
export class UidlistError extends Error {}

/** The UID the next new message gets: max(N, last UID + 1). */
export function nextUid(list: Uidlist): number {
  const last = list.records.at(-1)?.uid ?? 0;
  return Math.max(list.header.nextUidHint, last + 1);
}

/** The value of field `key` of a record (undefined when absent; "" for an empty value). */
export function field(record: UidlistRecord, key: string): string | undefined {
  for (const f of record.fields) if (f[0] === key) return f.slice(1);
  return undefined;
}

const UINT32_MAX = 0xffffffff;

export function parseHeader(line: string): UidlistHeader {
  if (!line.startsWith('3 ')) {
    throw new UidlistError(
      line.startsWith('1 ')
        ? 'version 1 uidlist (Dovecot 1.0); open the mailbox with Dovecot once to upgrade it'
        : `unknown uidlist header "${line.slice(0, 40)}"`,
    );
  }
  let uidValidity = 0;
  let nextUidHint = 0;
  let guid: string | null = null;
  const extra: string[] = [];
  for (const token of line.slice(2).split(' ')) {
    if (token === '') continue;
    const value = token.slice(1);
    switch (token[0]) {
      case 'V':
        uidValidity = Number(value);
        break;
      case 'N':
        nextUidHint = Number(value);
        break;
      case 'G':
        guid = value;
        break;
      default:
        extra.push(token);
    }
  }
  if (!Number.isInteger(uidValidity) || uidValidity <= 0 || uidValidity > UINT32_MAX)
    throw new UidlistError('uidlist header has no valid UIDVALIDITY (V)');
  if (!Number.isInteger(nextUidHint) || nextUidHint <= 0 || nextUidHint > UINT32_MAX)
    throw new UidlistError('uidlist header has no valid next UID (N)');
  return { uidValidity, nextUidHint, guid, extra };
}

/**
 * Parses whole record lines (each ending in LF; a line still being written is left for next time)
 * that follow a record with UID `afterUid`: UIDs must ascend. Two records with the same base are both
 * returned; the later one wins (Dovecot: "duplicate file entry").
 */
export function parseRecords(text: string, afterUid: number): UidlistRecord[] {
  const records: UidlistRecord[] = [];
  let last = afterUid;
  let at = 0;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) break;
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line === '') continue;
    const colon = line.indexOf(' :');
    if (colon < 0) throw new UidlistError(`uidlist record without " :": "${line.slice(0, 60)}"`);
    const head = line
      .slice(0, colon)
      .split(' ')
      .filter((t) => t !== '');
    const uid = Number(head[0]);
    const base = line.slice(colon + 2);
    if (!Number.isInteger(uid) || uid <= 0 || uid >= UINT32_MAX)
      throw new UidlistError(`uidlist record with a bad UID: "${line.slice(0, 60)}"`);
    if (uid <= last) throw new UidlistError(`uidlist UIDs not in ascending order at UID ${uid}`);
    if (base === '' || base.includes('/') || base.includes(':'))
      throw new UidlistError(`uidlist record with a bad file name: "${line.slice(0, 60)}"`);
    // a field that does not start with A-Z is dropped, as Dovecot drops it ("invalid extension record")
    const fields = head.slice(1).filter((f) => f[0] >= 'A' && f[0] <= 'Z');
    records.push({ uid, base, fields });
    last = uid;
  }
  return records;
}

export function formatHeader(h: UidlistHeader): string {
  const guid = h.guid ?? '';
  return `3 V${h.uidValidity} N${h.nextUidHint} G${guid}${h.extra.map((f) => ` ${f}`).join('')}\n`;
}

export function formatRecord(r: UidlistRecord): string {
  return `${r.uid}${r.fields.map((f) => ` ${f}`).join('')} :${r.base}\n`;
}

/** The whole file: header and records. */
export function formatUidlist(list: Uidlist): string {
  let out = formatHeader(list.header);
  for (const r of list.records) out += formatRecord(r);
  return out;
}

/** The whole file (whole lines only). */
export function parseUidlist(text: string): Uidlist {
  const nl = text.indexOf('\n');
  if (nl < 0) throw new UidlistError('uidlist without a complete header line');
  return { header: parseHeader(text.slice(0, nl)), records: parseRecords(text.slice(nl + 1), 0) };
}
