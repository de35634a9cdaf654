// The MIME structure of one message (RFC 2045, RFC 2046, RFC 5322): where each part's header and body
// are, and the Content-* data BODYSTRUCTURE needs. Boundaries are found the way Dovecot 2.3's
// message-parser finds them (RFC 2046 section 5.1.1): a line starting with "--" and the boundary of any
// enclosing multipart, the longest match winning; the CRLF before it belongs to the boundary; an outer
// boundary ends the inner parts too. Never throws; nesting is bounded (MAX_DEPTH).
// Hand-written, not a MIME library: part offsets must match Dovecot's byte for byte (BODY[n], BINARY[n],
// BODYSTRUCTURE sizes; test/interop/imap-message-dovecot.test.ts compares them), and SEARCH reads this same tree.
import { type HeaderField, keptHeaderFields } from './header.js';
import { parsePartData, type PartData } from './part-data.js';

/** Parts this deep that would nest further are opaque application/octet-stream (as Dovecot's 100-level limit). */
export const MAX_DEPTH = 99;
/**
 * Most parts of one message, itself included (Dovecot 2.3's max_total_mime_parts). From the part that
 * reaches it on, no boundary is recognised: that part's body runs to the end of the message, and a
 * multipart or message/rfc822 there is opaque application/octet-stream (README: IMAP limits).
 */
export const MAX_PARTS = 10000;

export type PartKind = 'multipart' | 'message' | 'text' | 'basic';

export interface MimePart {
  /** offsets into the raw buffer */
  headerStart: number;
  headerEnd: number; // header section incl. the blank line that ends it (if any)
  bodyStart: number;
  bodyEnd: number;
  /** lower-case, defaults text/plain (or message/rfc822 in multipart/digest) */
  type: string;
  subtype: string;
  /** content-type parameters as raw bytes (RFC 2231 continuations merged but not decoded, as Dovecot) */
  params: [Buffer, Buffer][];
  /** multipart parts */
  children: MimePart[];
  /** the embedded message of message/rfc822 (and message/global, RFC 9051 section 7.5.2) */
  message?: MimePart;
  /** how the part is treated: multipart (children), message (embedded message), text (lines), other */
  kind: PartKind;
  /** Content-* fields as written (case kept), null when absent */
  data: PartData;
  /** LF count of the body (RFC 9051 body-fld-lines) */
  lines: number;
  /** nesting level: the message is 0, its parts and embedded messages one more than their parent */
  depth: number;
  /** the header's fields ENVELOPE and BODYSTRUCTURE read (header.ts: keptHeaderFields) */
  fields: HeaderField[];
  /** where the header's last field ends (headerStart when it has none) */
  fieldsEnd: number;
  /** the multipart boundary, when there is one */
  boundary?: Buffer;
}

interface Boundary {
  b: Buffer;
  owner: MimePart;
}

interface Found {
  owner: MimePart;
  /** where the content before the boundary line ends (the CRLF before the line excluded) */
  contentEnd: number;
  /** after the boundary line's LF */
  afterLine: number;
  close: boolean;
}

function lineEndAfter(raw: Buffer, pos: number): number {
  const lf = raw.indexOf(0x0a, pos);
  return lf < 0 ? raw.length : lf + 1;
}

/** Is the line at `at` a boundary line of `stack`? The longest matching boundary wins. */
function boundaryAt(raw: Buffer, at: number, stack: Boundary[]): Boundary | null {
  if (stack.length === 0 || raw[at] !== 0x2d || raw[at + 1] !== 0x2d) return null;
  let best: Boundary | null = null;
  const base = at + 2;
  for (const s of stack) {
    const b = s.b;
    const len = b.length;
    if (raw.length - base < len || (best !== null && best.b.length >= len)) continue;
    let k = 0; // compared here: boundaries are short, and Buffer.compare's call costs more than the loop
    while (k < len && raw[base + k] === b[k]) k++;
    if (k === len) best = s;
  }
  return best;
}

function found(raw: Buffer, at: number, first: boolean, s: Boundary): Found {
  let contentEnd = at;
  if (!first && at > 0 && raw[at - 1] === 0x0a) contentEnd = at >= 2 && raw[at - 2] === 0x0d ? at - 2 : at - 1;
  const e = at + 2 + s.b.length;
  return { owner: s.owner, contentEnd, afterLine: lineEndAfter(raw, e), close: raw[e] === 0x2d && raw[e + 1] === 0x2d };
}

const LF_DASHES = Buffer.from('\n--');

/** The first boundary line at or after line start `from` (a boundary right at `from` takes no CRLF). */
function findBoundary(raw: Buffer, from: number, stack: Boundary[]): Found | null {
  if (stack.length === 0 || from >= raw.length) return null;
  const first = boundaryAt(raw, from, stack);
  if (first) return found(raw, from, true, first);
  // only lines that start with "--" can be boundary lines: every other line start is skipped at once
  for (let lf = raw.indexOf(LF_DASHES, from); lf >= 0; lf = raw.indexOf(LF_DASHES, lf + 1)) {
    const s = boundaryAt(raw, lf + 1, stack);
    if (s) return found(raw, lf + 1, false, s);
  }
  return null;
}

function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = raw.indexOf(0x0a, start); i >= 0 && i < end; i = raw.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** The data of a part not (yet) classified: shared by all of them, never written (classify makes a new one). */
const NO_DATA: PartData = parsePartData([], false);

function newPart(start: number, depth: number): MimePart {
  return {
    headerStart: start,
    headerEnd: start,
    bodyStart: start,
    bodyEnd: start,
    type: 'text',
    subtype: 'plain',
    params: [],
    children: [],
    kind: 'text',
    data: NO_DATA,
    lines: 0,
    depth,
    fields: [],
    fieldsEnd: start,
  };
}

interface Ctx {
  raw: Buffer;
  stack: Boundary[];
  /** parts made so far */
  parts: number;
  /** whether to count each body's lines */
  lines: boolean;
}

/** A new part, counted: at MAX_PARTS no boundary counts any more (the stack is emptied for good). */
function makePart(ctx: Ctx, start: number, depth: number): MimePart {
  ctx.parts += 1;
  if (ctx.parts >= MAX_PARTS) ctx.stack.length = 0;
  return newPart(start, depth);
}

/** Parses the part starting at `start`; returns the boundary line that ended it (null: end of message). */
function parsePart(ctx: Ctx, part: MimePart, inMultipart: boolean, inDigest: boolean): Found | null {
  const { raw, stack } = ctx;
  // Header: up to the blank line, the end of the message, or a boundary line of an enclosing multipart.
  let pos = part.headerStart;
  let cut: Found | null = null;
  for (;;) {
    if (pos >= raw.length) {
      part.headerEnd = part.bodyStart = raw.length;
      break;
    }
    const s = boundaryAt(raw, pos, stack);
    if (s) {
      cut = found(raw, pos, pos === part.headerStart, s);
      part.headerEnd = part.bodyStart = cut.contentEnd;
      break;
    }
    const next = lineEndAfter(raw, pos);
    if (raw[pos] === 0x0a || (raw[pos] === 0x0d && raw[pos + 1] === 0x0a)) {
      part.headerEnd = part.bodyStart = next;
      break;
    }
    pos = next;
  }
  const kept = keptHeaderFields(raw, part.headerStart, part.headerEnd);
  part.fields = kept.fields;
  part.fieldsEnd = kept.fieldsEnd;
  classify(part, inMultipart, inDigest, ctx.parts >= MAX_PARTS);

  let end: Found | null;
  if (cut) {
    end = cut;
    part.bodyEnd = part.bodyStart;
    if (part.kind === 'message') {
      // Dovecot starts the embedded message at the boundary line: it is empty
      part.message = makePart(ctx, part.bodyStart, part.depth + 1);
      part.message.headerStart = part.message.headerEnd = part.message.bodyStart = part.message.bodyEnd = part.bodyStart;
    }
    delete part.boundary; // a multipart whose header was cut never begins
  } else if (part.kind === 'multipart' && part.boundary) {
    end = parseMultipartBody(ctx, part);
  } else if (part.kind === 'message') {
    const m = makePart(ctx, part.bodyStart, part.depth + 1);
    part.message = m;
    end = parsePart(ctx, m, false, false);
    part.bodyEnd = end ? end.contentEnd : raw.length;
  } else {
    end = findBoundary(raw, part.bodyStart, stack);
    part.bodyEnd = end ? end.contentEnd : raw.length;
  }
  if (ctx.lines) part.lines = countLines(raw, part.bodyStart, part.bodyEnd);
  return end;
}

function parseMultipartBody(ctx: Ctx, part: MimePart): Found | null {
  const { raw, stack } = ctx;
  const own: Boundary = { b: part.boundary!, owner: part };
  stack.push(own);
  const pop = () => {
    const i = stack.lastIndexOf(own);
    if (i >= 0) stack.splice(i);
  };
  let f = findBoundary(raw, part.bodyStart, stack);
  for (;;) {
    if (f === null) {
      part.bodyEnd = raw.length;
      pop();
      return null;
    }
    if (f.owner !== part) {
      part.bodyEnd = f.contentEnd;
      pop();
      return f;
    }
    if (f.close) {
      // close-delimiter: the epilogue runs to an enclosing boundary or the end
      pop();
      const outer = f.afterLine >= raw.length ? null : findBoundary(raw, f.afterLine, stack);
      part.bodyEnd = outer ? outer.contentEnd : raw.length;
      return outer;
    }
    const child = makePart(ctx, f.afterLine, part.depth + 1);
    part.children.push(child);
    if (f.afterLine >= raw.length) {
      // a boundary line at the very end: an empty part
      child.headerStart = child.headerEnd = child.bodyStart = child.bodyEnd = raw.length;
      classify(child, true, part.subtype === 'digest', ctx.parts >= MAX_PARTS);
      part.bodyEnd = raw.length;
      pop();
      return null;
    }
    f = parsePart(ctx, child, true, part.subtype === 'digest');
  }
}

/** Type and kind from the header (RFC 2045 section 5.2 defaults, RFC 2046 section 5.1.5 for digests). */
function classify(part: MimePart, inMultipart: boolean, inDigest: boolean, pastPartLimit: boolean): void {
  const fields = part.fields;
  // Without MIME-Version the Content-* fields mean nothing (RFC 2045 section 4); like Dovecot, a
  // Content-Type alone is taken as MIME too. Parts of a multipart are always MIME.
  const isMime = inMultipart || fields.some((f) => f.name === 'mime-version' || f.name === 'content-type');
  const data = parsePartData(fields, isMime);
  part.data = data;
  part.params = data.params;
  let kind: PartKind;
  const ct =
    data.contentType === null ? null : `${data.contentType.toString('latin1')}/${data.contentSubtype.toString('latin1')}`.toLowerCase();
  if (ct === null) kind = inDigest ? 'message' : 'text';
  else if (ct === 'message/rfc822' || ct === 'message/global') kind = 'message';
  else if (ct.startsWith('multipart/')) kind = 'multipart';
  else if (ct === 'text' || ct.startsWith('text/')) kind = 'text';
  else kind = 'basic';
  if ((kind === 'multipart' || kind === 'message') && (part.depth >= MAX_DEPTH || pastPartLimit)) {
    // too deep (or too many parts) to look into: an opaque part, its parameters kept (as Dovecot does)
    data.contentType = Buffer.from('application');
    data.contentSubtype = Buffer.from('octet-stream');
    kind = 'basic';
  }
  part.kind = kind;
  if (kind === 'message') {
    part.type = 'message';
    part.subtype = ct === 'message/global' ? 'global' : 'rfc822';
  } else if (data.contentType === null) {
    part.type = 'text';
    part.subtype = 'plain';
  } else {
    part.type = data.contentType.toString('latin1').toLowerCase();
    part.subtype = data.contentSubtype.toString('latin1').toLowerCase();
  }
  if (kind === 'multipart' && data.typeParsed) {
    const b = data.params.find(([k]) => k.toString('latin1').toLowerCase() === 'boundary');
    if (b) part.boundary = b[1];
  }
}

/**
 * The MIME tree of `raw` (every line ending in CRLF). `lines: false` leaves every `lines` 0, for a
 * reader that needs no line counts (SEARCH): counting them is a pass over each body at every depth.
 */
export function parseMime(raw: Buffer, options: { lines?: boolean } = {}): MimePart {
  const root = newPart(0, 0);
  const lines = options.lines ?? true;
  try {
    parsePart({ raw, stack: [], parts: 1, lines }, root, false, false);
  } catch {
    // defensive: a malformed message still gets a tree (one text part)
    const r = newPart(0, 0);
    r.headerEnd = r.bodyStart = 0;
    r.bodyEnd = raw.length;
    if (lines) r.lines = countLines(raw, 0, raw.length);
    return r;
  }
  return root;
}
