// The message as Sieve's tests read it (RFC 5228 section 2.7.2 header values, 2.7.4 addresses; RFC 5173
// body; RFC 5260 :index), built once per run over the message's bytes and shared by every script of the run
// (Pigeonhole's multiscript reads one message). Everything is read through the one MIME reader in mime/ and
// only when a test first asks for it; nothing here throws on malformed input.
import { parseAddresses } from '../../mime/address.js';
import { decodeCharset, decodeEncodedWords } from '../../mime/charset.js';
import { utf8AsDovecot } from '../../mime/encoded-words.js';
import { fieldName, fieldValue, forEachField } from '../../mime/header.js';
import { type MimePart, parseMime } from '../../mime/mime-tree.js';
import { decodeBase64, decodeQuotedPrintable } from '../../mime/transfer-decode.js';
import { htmlToText } from './html-text.js';
import { EMPTY_ADDRESS, invalidAddress, localPartText, type SieveAddress } from './address-part.js';

/** Which occurrence of a field a test reads (RFC 5260 section 6: :index N, counted from the end with :last). */
export interface FieldIndex {
  /** 1-based position among the fields of that name. */
  readonly index: number;
  readonly last?: boolean;
}

export interface HeaderValueOptions {
  /** true (the default): RFC 2047 encoded words decoded, as RFC 5228 section 2.7.2 asks; false: the raw value. */
  readonly decoded?: boolean;
  /** Only this occurrence (RFC 5260 :index/:last); none when there are fewer. */
  readonly at?: FieldIndex;
}

/** The body transforms of RFC 5173 section 5: :raw, :text (the default), :content "type" ... */
export type BodyTransform = 'raw' | 'text' | { readonly content: readonly string[] };

interface Field {
  readonly name: string;
  /** The value with the first line's white space skipped and the line end left out, folding kept. */
  readonly value: Buffer;
}

/**
 * Unfolding (RFC 5322 section 2.2.3) as Pigeonhole reads a field: each CRLF and the white space character after
 * it become one space (so "a CRLF TAB b" reads "a b"), a stray line end goes.
 */
export function unfold(value: string): string {
  return value.indexOf('\n') < 0 ? value : value.replace(/\r?\n[ \t]/g, ' ').replace(/\r?\n/g, '');
}

const LEADING_WHITE_SPACE = /^[ \t\r\n]+/;

/** The string without the spaces and tabs at its end (a CR or LF there stays, as in Pigeonhole). */
function trimSpacesAtEnd(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Header octets as text the way Pigeonhole reads them: UTF-8, a run of invalid octets one U+FFFD. */
function text(b: Buffer): string {
  return utf8AsDovecot(b);
}

export class SieveMessage {
  private fieldList: Field[] | null = null;
  private tree: MimePart | null = null;

  constructor(readonly raw: Buffer) {}

  /** The message's size in octets (the size test, RFC 5228 section 5.9). */
  get size(): number {
    return this.raw.length;
  }

  /** The top-level header's fields in order (names lower case). */
  private fields(): Field[] {
    if (this.fieldList === null) {
      const list: Field[] = [];
      // forEachField stops at the blank line: a header test never walks the body (nor parses the MIME tree)
      forEachField(this.raw, 0, this.raw.length, (f) => list.push({ name: fieldName(this.raw, f), value: fieldValue(this.raw, f) }));
      this.fieldList = list;
    }
    return this.fieldList;
  }

  /** The MIME tree (mime/mime-tree.ts), parsed on first use. */
  mime(): MimePart {
    this.tree ??= parseMime(this.raw, { lines: false });
    return this.tree;
  }

  /** The names of the header's fields in order, lower case (duplicates kept). */
  headerNames(): string[] {
    return this.fields().map((f) => f.name);
  }

  /** Whether the header has a field of this name (the exists test, RFC 5228 section 5.5). */
  hasHeader(name: string): boolean {
    const n = name.toLowerCase();
    return this.fields().some((f) => f.name === n);
  }

  /** The raw values of the fields named `name` (case-insensitive) in order, or the one `at` picks. */
  private rawValues(name: string, at: FieldIndex | undefined): Buffer[] {
    const n = name.toLowerCase();
    const all = this.fields()
      .filter((f) => f.name === n)
      .map((f) => f.value);
    if (at === undefined) return all;
    const i = at.last ? all.length - at.index : at.index - 1;
    return i >= 0 && i < all.length ? [all[i]] : [];
  }

  /**
   * The values of the fields named `name` in header order (RFC 5228 section 2.7.2): unfolded, raw 8-bit read
   * as UTF-8 (a run of invalid octets as one U+FFFD), RFC 2047 encoded words decoded unless `decoded: false`. As Pigeonhole:
   * the raw value's leading white space goes, then after decoding the spaces and tabs at its end (so a word
   * decoding to " a " reads " a"); an undecoded value is trimmed at both ends.
   */
  headerValues(name: string, options: HeaderValueOptions = {}): string[] {
    const decoded = options.decoded ?? true;
    return this.rawValues(name, options.at).map((v) => {
      const s = unfold(text(v));
      return decoded ? trimSpacesAtEnd(decodeEncodedWords(s.replace(LEADING_WHITE_SPACE, ''))) : s.trim();
    });
  }

  /**
   * The addresses of the fields named `name` in order, for the address test (RFC 5228 section 2.7.4): group
   * names are not addresses (a group gives its members), an empty field gives none, and an address that does
   * not parse is an invalid address (:all sees its text, the other parts nothing).
   */
  addresses(name: string, options: { readonly at?: FieldIndex } = {}): SieveAddress[] {
    const out: SieveAddress[] = [];
    for (const value of this.rawValues(name, options.at)) out.push(...addressesOf(value));
    return out;
  }

  /**
   * The strings the body test matches (RFC 5173 section 5), in message order:
   * - 'raw': the undecoded body of the whole message, one string;
   * - 'text': each text/* part decoded (transfer encoding, then charset to UTF-8), text/html as the text a reader
   *   sees (html-text.ts), the parts of nested messages included (not their headers);
   * - { content }: each part whose type matches one of the list (a type alone matches its subtypes, "" every
   *   part; "text/" and "text/*" match none): a leaf part decoded as text when text/* (HTML as it is), else its
   *   body after the transfer encoding; a multipart's prologue and epilogue, each a string; a message/rfc822's
   *   embedded header as written, one string. The parts inside are searched only when they match themselves.
   */
  bodyParts(transform: BodyTransform): string[] {
    const raw = this.raw;
    const root = this.mime();
    if (transform === 'raw') return [text(raw.subarray(root.bodyStart))];
    const out: string[] = [];
    const wanted = transform === 'text' ? null : transform.content.map((c) => c.toLowerCase());
    const visit = (part: MimePart): void => {
      const matches = wanted === null ? part.kind !== 'multipart' && part.type === 'text' : wanted.some((w) => typeMatches(w, part));
      if (part.kind === 'multipart' && part.children.length > 0) {
        if (matches && wanted !== null) out.push(...prologueEpilogue(raw, part));
        for (const child of part.children) visit(child);
        return;
      }
      if (part.kind === 'message' && part.message !== undefined) {
        if (matches && wanted !== null) out.push(text(raw.subarray(part.message.headerStart, part.message.headerEnd)));
        visit(part.message);
        return;
      }
      if (!matches) return;
      if (part.type !== 'text') out.push(text(decodedBody(raw, part)));
      else if (wanted === null && part.subtype === 'html') out.push(htmlToText(partText(raw, part)));
      else out.push(partText(raw, part));
    };
    visit(root);
    return out;
  }
}

/** A content-type list item against a part (RFC 5173 section 5.2): "" all, "type" its subtypes, "type/sub" exact. */
function typeMatches(wanted: string, part: MimePart): boolean {
  if (wanted === '') return true;
  const slash = wanted.indexOf('/');
  if (slash < 0) return wanted === part.type;
  return wanted.slice(0, slash) === part.type && wanted.slice(slash + 1) === part.subtype;
}

/** A multipart's prologue (before its first boundary) and epilogue (after its close delimiter), when not empty. */
function prologueEpilogue(raw: Buffer, part: MimePart): string[] {
  const out: string[] = [];
  const first = part.children[0];
  // the prologue ends at the CRLF before the first boundary line (RFC 2046 section 5.1.1)
  const boundaryLine = raw.lastIndexOf(Buffer.from(`--${part.boundary?.toString('latin1') ?? ''}`), first.headerStart);
  if (boundaryLine > part.bodyStart) {
    let end = boundaryLine;
    if (raw[end - 1] === 0x0a) end--;
    if (raw[end - 1] === 0x0d) end--;
    out.push(text(raw.subarray(part.bodyStart, end)));
  }
  const close = raw.indexOf(Buffer.from(`--${part.boundary?.toString('latin1') ?? ''}--`), part.children[part.children.length - 1].bodyEnd);
  if (close >= 0 && close < part.bodyEnd) {
    const lf = raw.indexOf(0x0a, close);
    if (lf >= 0 && lf + 1 < part.bodyEnd) out.push(text(raw.subarray(lf + 1, part.bodyEnd)));
  }
  return out;
}

function paramOf(part: MimePart, name: string): string | undefined {
  for (const [k, v] of part.params) if (k.toString('latin1').toLowerCase() === name) return v.toString('latin1');
  return undefined;
}

/** A part's body with its Content-Transfer-Encoding undone (unknown encodings left as they are). */
function decodedBody(raw: Buffer, part: MimePart): Buffer {
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  const enc = part.data.encoding?.toString('latin1').toLowerCase();
  if (enc === 'base64') return decodeBase64(body);
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/**
 * UTF-8 (or US-ASCII, or no charset) text as Dovecot's charset reader gives it to Pigeonhole: each octet that is
 * not UTF-8 a U+FFFD, but a character cut off by the end of the part dropped (it could still be completed).
 */
function utf8Text(b: Buffer): string {
  let end = b.length;
  for (let back = 1; back <= 3 && back <= b.length; back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0x80) continue; // a continuation octet: look further back for the lead
    const need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 1;
    if (c >= 0xc2 && need > back) end = b.length - back;
    break;
  }
  return b.toString('utf8', 0, end);
}

/** A text part decoded to a string: transfer encoding, then its charset (mime/charset.ts; UTF-8 as utf8Text). */
function partText(raw: Buffer, part: MimePart): string {
  const body = decodedBody(raw, part);
  const charset = paramOf(part, 'charset');
  const cs = charset?.trim().toLowerCase() ?? '';
  if (cs === '' || cs === 'us-ascii' || cs === 'ascii' || cs === 'utf-8' || cs === 'utf8') return utf8Text(body);
  return decodeCharset(body, charset);
}

const FILLED = new Set(['MISSING_MAILBOX', 'MISSING_DOMAIN', 'SYNTAX_ERROR', 'INVALID_ROUTE']);

/**
 * What Pigeonhole accepts beyond Dovecot's parser: a local part of US-ASCII (8-bit text there makes the address
 * invalid, RFC 5322 has no such local part), a domain that is a literal or whose labels are none of them empty.
 */
function acceptable(local: string, domain: string): boolean {
  if (local === '' || domain === '' || /[^\x00-\x7f]/.test(local)) return false;
  return domain.startsWith('[') || !domain.split('.').includes('');
}

/**
 * The addresses of one field value as Pigeonhole gives them (RFC 5228 section 2.7.4): the mailboxes that parse
 * (mime/address.ts, Dovecot's parser; group members included, group names not), the broken ones left out;
 * when none parses (an empty group, garbage), the whole value, trimmed, is one invalid address that only :all
 * sees; an empty value is one address whose every part is "".
 */
function addressesOf(value: Buffer): SieveAddress[] {
  const whole = unfold(text(value)).trim();
  if (whole === '') return [EMPTY_ADDRESS];
  const out: SieveAddress[] = [];
  for (const a of parseAddresses(value) ?? []) {
    if (a.domain === null || a.mailbox === null) continue; // a group's start or end marker, or a name alone
    const local = text(a.mailbox);
    const domain = text(a.domain);
    if (FILLED.has(local) || FILLED.has(domain) || !acceptable(local, domain)) continue;
    out.push({ localPart: local, domain, text: `${localPartText(local)}@${domain}` });
  }
  return out.length > 0 ? out : [invalidAddress(whole)];
}
