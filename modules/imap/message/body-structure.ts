// FETCH BODY and BODYSTRUCTURE (RFC 9051 section 7.5.2 and the body grammar of section 9; RFC 3501
// section 7.4.2 for rev1, whose body-ext fields are the same). Defaults as Dovecot writes them: a part
// without Content-Type is "text" "plain" ("charset" "us-ascii") ... "7bit"; text parts always carry a
// charset (us-ascii when none is given, RFC 2045 section 5.2); a multipart without any part (no
// boundary, or none found) shows one empty text/plain part, since body-type-mpart needs one.
// Hand-written, not a MIME library: the answer must match Dovecot's byte for byte.
import { list, NIL, nstring } from '../wire/encode.js';
import { envelope } from './envelope.js';
import { noLf } from './imap-text.js';
import type { MimePart } from '../../../mime/mime-tree.js';
import type { Param } from '../../../mime/rfc2231.js';

const SP = Buffer.from(' ');
const str = (s: string) => nstring(Buffer.from(s));

function join(items: Buffer[]): Buffer {
  const out: Buffer[] = [];
  items.forEach((item, i) => {
    if (i > 0) out.push(SP);
    out.push(item);
  });
  return Buffer.concat(out);
}

function paren(items: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('('), join(items), Buffer.from(')')]);
}

/** body-fld-param: NIL, or the pairs (plus "charset" "us-ascii" for text without one). */
function params(ps: Param[], defaultCharset: boolean): Buffer {
  if (!defaultCharset && ps.length === 0) return NIL;
  const items: Buffer[] = [];
  let seenCharset = false;
  for (const [k, v] of ps) {
    if (k.toString('latin1').toLowerCase() === 'charset') seenCharset = true;
    items.push(nstring(k), nstring(v));
  }
  if (defaultCharset && !seenCharset) items.push(str('charset'), str('us-ascii'));
  return paren(items);
}

/** body-fld-dsp, body-fld-lang, body-fld-loc (RFC 9051 body-ext-1part / body-ext-mpart). */
function extCommon(part: MimePart): Buffer[] {
  const d = part.data;
  return [
    d.disposition === null ? NIL : paren([nstring(d.disposition), params(d.dispositionParams, false)]),
    d.language === null ? NIL : list(d.language.map((l) => nstring(l))),
    d.location === null ? NIL : nstring(noLf(d.location)),
  ];
}

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

function multipart(raw: Buffer, part: MimePart, extended: boolean): Buffer {
  const kids =
    part.children.length > 0
      ? Buffer.concat(part.children.map((c) => structure(raw, c, extended)))
      : Buffer.from(extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
  const items = [nstring(part.data.contentSubtype)];
  if (extended) items.push(params(part.data.params, false), ...extCommon(part));
  return Buffer.concat([Buffer.from('('), kids, SP, join(items), Buffer.from(')')]);
}

function single(raw: Buffer, part: MimePart, extended: boolean): Buffer {
  const d = part.data;
  let text = false;
  const items: Buffer[] = [];
  if (part.kind === 'message') {
    items.push(str('message'), str(part.subtype));
  } else if (d.contentType === null) {
    text = true;
    items.push(str('text'), str('plain'));
  } else {
    text = d.contentType.toString('latin1').toLowerCase() === 'text';
    items.push(nstring(d.contentType), nstring(d.contentSubtype));
  }
  items.push(
    params(d.params, text),
    d.id === null ? NIL : nstring(noLf(d.id)),
    d.description === null ? NIL : nstring(noLf(d.description)),
    d.encoding === null ? str('7bit') : nstring(d.encoding),
    Buffer.from(String(part.bodyEnd - part.bodyStart)),
  );
  if (text) items.push(Buffer.from(String(part.lines)));
  else if (part.kind === 'message' && part.message) {
    items.push(envelope(raw, part.message), structure(raw, part.message, extended), Buffer.from(String(part.lines)));
  }
  if (extended) items.push(d.md5 === null ? NIL : nstring(noLf(d.md5)), ...extCommon(part));
  return paren(items);
}

function structure(raw: Buffer, part: MimePart, extended: boolean): Buffer {
  return part.kind === 'multipart' ? multipart(raw, part, extended) : single(raw, part, extended);
}

/** The parenthesised BODYSTRUCTURE (extended=true) or BODY (extended=false, non-extensible) of `root`. */
export function bodyStructure(raw: Buffer, root: MimePart, extended: boolean): Buffer {
  return structure(raw, root, extended);
}
