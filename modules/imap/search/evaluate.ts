// Checks a SEARCH key tree (search-key.ts) against messages (RFC 9051 section 6.4.4).
//
// How to call it:
//   const search = compileSearch(key);          // once per SEARCH command
//   search.needs                                // what the tree reads beyond uid/flags/size
//   if (search.sync) hit = search.test(m)       // a boolean, at once; m needs only uid, size, flags
//   else hit = await search.test(m)             // may still be a plain boolean: the cheap keys of an AND
//                                               // or OR run first and can decide without any reading
//   matches(key, m)                             // the same, one message at a time (compiled once per key)
// Within one test() call each thing is read at most once: the internal date, the header (parsed once,
// each field decoded once), the body text (decoded once, for every BODY/TEXT key in the tree). When the
// tree needs the body, the header is taken from raw() rather than read a second time. Errors from the
// message's own readers (a vanished file) propagate; malformed message content never throws.
//
// Decisions (RFC 9051/3501 section 6.4.4; Dovecot 2.3 where the RFC leaves room):
// - Strings compare as substrings after mapping both sides by i;unicode-casemap (RFC 5051, as Dovecot 2.3
//   maps them: mime/casemap.ts).
// - What each key searches is mime/mime-text.ts's (the index reads the same functions, so it holds the
//   same text): header keys match a field's decoded value (unfolded, octets as UTF-8, RFC 2047 words
//   decoded); any occurrence of a repeated field may match; HEADER name "" holds when the field exists.
//   SUBJECT reads runs of white space in the field as one space, HEADER Subject as written (as Dovecot).
//   FROM, TO, CC, BCC match each of the field's addresses on its own, as the ENVELOPE parses them, written
//   back as Dovecot writes them ("Name" <box@host>, comments gone; mime/address-text.ts), so no needle spans
//   two addresses; HEADER From/To/... match the raw text.
// - BODY: the decoded text of every text/* and message/* part (transfer encoding, then charset), text/html
//   as its source, attached messages' parts included but not their headers (a message/global is read as
//   text, header and all, as Dovecot reads it); other types, multiparts' own
//   bodies and parts with an unknown transfer encoding are skipped. TEXT: the message's header ("Name: value"
//   lines), BODY's text and the header of every MIME part and attached message (RFC 9051 section 6.4.4).
// - BEFORE/ON/SINCE use the internal date's UTC calendar day (the store's timestamps are instants; UTC
//   keeps results independent of the server's zone). SENT* use the Date: field's day as written, in its
//   own zone (the first Date: field; lenient parsing, obsolete years). Without a parsable Date: they use
//   the internal date's day, as RFC 5256 does for SORT; RFC 9051 is silent, and Dovecot 2.3 would take
//   such a message as sent on 1 January 1970.
// - System flags match exactly in their normalised form (\Seen, any spelling of the key accepted);
//   keywords compare case-insensitively. RECENT (and the flag \Recent) holds for messages whose flags the
//   caller gave with \Recent (those recent in its session); OLD for the others; NEW is RECENT UNSEEN.
// - LARGER n: size > n; SMALLER n: size < n.
// - SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514) compare the save date's UTC day, as BEFORE/ON/SINCE do.
// - OLDER n / YOUNGER n (RFC 5032): the internal date in whole seconds is at most / at least the command's
//   time less n, as Dovecot compares them.
import { addressSearchTexts } from '../../../mime/address-text.js';
import { cannotHold } from '../../../mime/search-prefilter.js';
import type { SearchDay, SearchKey } from './search-key.js';
import { parseDateDay } from '../message/rfc5322-date.js';
import {
  type BodySearchTexts,
  bodySearchTexts,
  fieldSearchText,
  fieldText,
  fold,
  type HeaderField,
  headerSearchText,
  parseHeader,
  SEARCH_HEADER_MAX,
  subjectSearchText,
} from '../../../mime/mime-text.js';

export interface SearchMessage {
  readonly uid: number;
  /** RFC822.SIZE */
  readonly size: number;
  /** "\\Seen", "\\Deleted", keywords like "$Label1". */
  readonly flags: ReadonlySet<string>;
  /** RFC 7162 MODSEQ (for SEARCH MODSEQ). */
  readonly modseq?: number;
  internalDate(): Promise<Date>;
  /** When it was saved into the mailbox (RFC 8514 SAVEDATE); without it, SAVED* keys match nothing. */
  saveDate?(): Promise<Date>;
  /** The header section only (CRLF line ends). */
  header(): Promise<Buffer>;
  /** The whole message (CRLF line ends). */
  raw(): Promise<Buffer>;
  /** A header key's values kept from an earlier search (search/field-cache.ts), or undefined. */
  cachedField?(name: string): readonly string[] | undefined;
  /** Keeps a header key's values for later searches. */
  keepField?(name: string, values: readonly string[]): void;
}

/** All a tree with `sync: true` reads. */
export type SearchMessageFlags = Pick<SearchMessage, 'uid' | 'size' | 'flags' | 'modseq'>;

/** Which of the message's readers a tree calls; `body` means raw() (the header then comes from it too). */
export interface SearchNeeds {
  readonly internalDate: boolean;
  readonly header: boolean;
  readonly body: boolean;
}

export type CompiledSearch =
  | { readonly sync: true; readonly needs: SearchNeeds; readonly test: (m: SearchMessageFlags) => boolean }
  | { readonly sync: false; readonly needs: SearchNeeds; readonly test: (m: SearchMessage) => boolean | Promise<boolean> };

/** What a key tree needs beyond uid, flags and size, so the caller reads as little as possible. */
export function searchNeeds(key: SearchKey): SearchNeeds {
  const n = { internalDate: false, header: false, body: false };
  const walk = (k: SearchKey): void => {
    switch (k.kind) {
      case 'and':
        k.keys.forEach(walk);
        break;
      case 'or':
        walk(k.a);
        walk(k.b);
        break;
      case 'not':
        walk(k.key);
        break;
      case 'date':
        if (k.field === 'internal') n.internalDate = true;
        else if (k.field === 'sent') {
          n.header = true;
          n.internalDate = true; // the fallback when there is no usable Date:
        }
        break;
      case 'header':
        n.header = true;
        break;
      case 'within':
        n.internalDate = true;
        break;
      case 'text':
        n.body = true;
        if (k.where === 'text') n.header = true;
        break;
      default:
        break;
    }
  };
  walk(key);
  return n;
}

// ---- one message's lazily read parts ----

export { SEARCH_HEADER_MAX };

class Lazy {
  private date?: Promise<Date>;
  private raw?: Promise<Buffer>;
  private header?: Promise<ParsedHeader>;
  private body?: Promise<BodySearchTexts>;

  constructor(
    private readonly m: SearchMessage,
    private readonly headerFromRaw: boolean,
  ) {}

  internalDate(): Promise<Date> {
    return (this.date ??= this.m.internalDate());
  }

  rawBytes(): Promise<Buffer> {
    return (this.raw ??= this.m.raw());
  }

  parsedHeader(): Promise<ParsedHeader> {
    // parseHeader stops at the blank line that ends the header, so the whole message does as well
    return (this.header ??= (this.headerFromRaw ? this.rawBytes() : this.m.header()).then((h) => new ParsedHeader(h)));
  }

  /** BODY's text and the part headers TEXT searches, folded (mime-text.ts bodySearchTexts). */
  bodyTexts(): Promise<BodySearchTexts> {
    return (this.body ??= this.rawBytes().then(bodySearchTexts));
  }
}

class ParsedHeader {
  private readonly decoded = new Map<string, string[]>();
  private text?: string;
  readonly fields: readonly HeaderField[];
  private readonly end: number;
  constructor(private readonly bytes: Buffer) {
    this.end = Math.min(bytes.length, SEARCH_HEADER_MAX);
    this.fields = parseHeader(bytes, 0, this.end);
  }

  has(name: string): boolean {
    return this.fields.some((f) => f.name === name);
  }

  /** The folded decoded values of every `name` field (mime-text.ts fieldSearchText; subjectSearchText for SUBJECT). */
  values(name: string, subject = false): string[] {
    const key = subject ? 'subject:' : name;
    let v = this.decoded.get(key);
    if (v === undefined) {
      v = this.fields.filter((f) => f.name === name).map((f) => (subject ? subjectSearchText(f.value) : fieldSearchText(f.value)));
      this.decoded.set(key, v);
    }
    return v;
  }

  /** FROM/TO/CC/BCC: the folded text of each address of every `name` field (address-text.ts addressSearchTexts). */
  addressValues(name: string): string[] {
    const key = `address:${name}`;
    let v = this.decoded.get(key);
    if (v === undefined) {
      v = this.fields.filter((f) => f.name === name).flatMap((f) => addressSearchTexts(f.value));
      this.decoded.set(key, v);
    }
    return v;
  }

  /** The whole header as TEXT searches it, folded (mime-text.ts headerSearchText). */
  foldedText(): string {
    return (this.text ??= headerSearchText(this.bytes, 0, this.end));
  }
}

// ---- compiling ----

type SyncTest = (m: SearchMessageFlags) => boolean;
type AsyncTest = (m: SearchMessage, c: Lazy) => boolean | Promise<boolean>;
type Node =
  | { readonly t: 'const'; readonly v: boolean }
  | { readonly t: 'sync'; readonly f: SyncTest }
  | { readonly t: 'async'; readonly f: AsyncTest; readonly cost: number };

const TRUE: Node = { t: 'const', v: true };
const FALSE: Node = { t: 'const', v: false };

const SYSTEM_FLAGS = new Map(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((f) => [f.toLowerCase(), f]));

function dayNumber(d: SearchDay): number {
  return d.year * 10000 + d.month * 100 + d.day;
}

function utcDayNumber(d: Date): number {
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

function compareDay(op: 'before' | 'on' | 'since', day: number, key: number): boolean {
  if (Number.isNaN(day)) return false;
  return op === 'before' ? day < key : op === 'on' ? day === key : day >= key;
}

/** The caller puts \Recent into the flags of the messages recent in its session. */
function recentNode(set: boolean): Node {
  return { t: 'sync', f: set ? (m) => m.flags.has('\\Recent') : (m) => !m.flags.has('\\Recent') };
}

function flagNode(flag: string, set: boolean): Node {
  const lower = flag.toLowerCase();
  if (lower === '\\recent') return recentNode(set);
  const system = SYSTEM_FLAGS.get(lower);
  let has: SyncTest;
  if (system !== undefined) has = (m) => m.flags.has(system);
  else if (lower.startsWith('\\'))
    has = (m) => m.flags.has(flag); // an unknown \Flag: exact
  else
    has = (m) => {
      if (m.flags.has(flag)) return true;
      for (const f of m.flags) if (f.length === flag.length && f.toLowerCase() === lower) return true;
      return false;
    };
  return { t: 'sync', f: set ? has : (m) => !has(m) };
}

function notNode(n: Node): Node {
  if (n.t === 'const') return n.v ? FALSE : TRUE;
  if (n.t === 'sync') {
    const f = n.f;
    return { t: 'sync', f: (m) => !f(m) };
  }
  const f = n.f;
  return {
    t: 'async',
    cost: n.cost,
    f: (m, c) => {
      const r = f(m, c);
      return typeof r === 'boolean' ? !r : r.then((v) => !v);
    },
  };
}

/** AND (all true) or OR (any true): constants folded, the synchronous children first, then the rest by cost. */
function junction(children: Node[], isAnd: boolean): Node {
  const decisive = !isAnd; // the value of a child that decides the whole
  const sync: SyncTest[] = [];
  const slow: { f: AsyncTest; cost: number }[] = [];
  for (const n of children) {
    if (n.t === 'const') {
      if (n.v === decisive) return n;
    } else if (n.t === 'sync') sync.push(n.f);
    else slow.push(n);
  }
  slow.sort((a, b) => a.cost - b.cost);
  const syncAll: SyncTest | null =
    sync.length === 0
      ? null
      : sync.length === 1
        ? sync[0]
        : sync.length === 2
          ? isAnd
            ? (
                (a, b) => (m: SearchMessageFlags) =>
                  a(m) && b(m)
              )(sync[0], sync[1])
            : (
                (a, b) => (m: SearchMessageFlags) =>
                  a(m) || b(m)
              )(sync[0], sync[1])
          : (m) => {
              for (const f of sync) if (f(m) === decisive) return decisive;
              return !decisive;
            };
  if (slow.length === 0) return syncAll === null ? (isAnd ? TRUE : FALSE) : { t: 'sync', f: syncAll };
  const rest = async (m: SearchMessage, c: Lazy, from: number, first: Promise<boolean>): Promise<boolean> => {
    if ((await first) === decisive) return decisive;
    for (let i = from; i < slow.length; i++) if ((await slow[i].f(m, c)) === decisive) return decisive;
    return !decisive;
  };
  return {
    t: 'async',
    cost: slow[0].cost,
    f: (m, c) => {
      if (syncAll !== null && syncAll(m) === decisive) return decisive;
      for (let i = 0; i < slow.length; i++) {
        const r = slow[i].f(m, c);
        if (typeof r !== 'boolean') return rest(m, c, i + 1, r);
        if (r === decisive) return decisive;
      }
      return !decisive;
    },
  };
}

function compileNode(k: SearchKey): Node {
  switch (k.kind) {
    case 'all':
      return TRUE;
    case 'and':
      return junction(k.keys.map(compileNode), true);
    case 'or':
      return junction([compileNode(k.a), compileNode(k.b)], false);
    case 'not':
      return notNode(compileNode(k.key));
    case 'uids': {
      const uids = k.uids;
      return { t: 'sync', f: (m) => uids.has(m.uid) };
    }
    case 'flag':
      return flagNode(k.flag, k.set);
    case 'recent':
      return recentNode(k.recent);
    case 'modseq': {
      const n = k.modseq;
      return { t: 'sync', f: (m) => (m.modseq ?? 0) >= n };
    }
    case 'size': {
      const n = k.octets;
      return { t: 'sync', f: k.op === 'larger' ? (m) => m.size > n : (m) => m.size < n };
    }
    case 'date': {
      const key = dayNumber(k.day);
      const op = k.op;
      if (k.field === 'internal') {
        return { t: 'async', cost: 1, f: (_m, c) => c.internalDate().then((d) => compareDay(op, utcDayNumber(d), key)) };
      }
      if (k.field === 'saved') {
        const saved = (m: SearchMessage) => (m.saveDate ? m.saveDate().then((d) => compareDay(op, utcDayNumber(d), key)) : false);
        return { t: 'async', cost: 1, f: (m) => saved(m) };
      }
      return {
        t: 'async',
        cost: 2,
        f: async (_m, c) => {
          const h = await c.parsedHeader();
          const date = h.fields.find((f) => f.name === 'date');
          const day = date === undefined ? null : parseDateDay(fieldText(date.value));
          const n = day !== null ? dayNumber(day) : utcDayNumber(await c.internalDate());
          return compareDay(op, n, key);
        },
      };
    }
    case 'within': {
      const limit = k.now - k.seconds;
      const test = k.op === 'older' ? (t: number) => t <= limit : (t: number) => t >= limit;
      return { t: 'async', cost: 1, f: (_m, c) => c.internalDate().then((d) => test(Math.floor(d.getTime() / 1000))) };
    }
    case 'header': {
      const name = k.field.toLowerCase();
      const needle = fold(k.value);
      if (needle === '') return { t: 'async', cost: 2, f: (_m, c) => c.parsedHeader().then((h) => h.has(name)) };
      const address = k.address === true;
      const subject = !address && k.subject === true && name === 'subject';
      // the values compared are kept per process (field-cache.ts): a second search of the field reads no file
      const cacheName = address ? `@${name}` : subject ? '~subject' : name;
      return {
        t: 'async',
        cost: 2,
        f: (m, c) => {
          const kept = m.cachedField?.(cacheName);
          if (kept !== undefined) return kept.some((v) => v.includes(needle));
          return c.parsedHeader().then((h) => {
            const values = address ? h.addressValues(name) : h.values(name, subject);
            m.keepField?.(cacheName, values);
            return values.some((v) => v.includes(needle));
          });
        },
      };
    }
    case 'text': {
      const needle = fold(k.value);
      // a message whose raw octets tell that it cannot hold the needle is not decoded (mime/search-prefilter.ts)
      const cannot = cannotHold(needle);
      if (k.where === 'body')
        return {
          t: 'async',
          cost: 3,
          f: async (_m, c) => (cannot?.(await c.rawBytes()) ? false : (await c.bodyTexts()).bodyText.includes(needle)),
        };
      return {
        t: 'async',
        cost: 3,
        f: async (_m, c) => {
          if (cannot?.(await c.rawBytes())) return false;
          if ((await c.parsedHeader()).foldedText().includes(needle)) return true;
          const b = await c.bodyTexts();
          return b.bodyText.includes(needle) || b.partHeadersText.includes(needle);
        },
      };
    }
  }
}

/** The key tree as a test, synchronous when it reads nothing but uid, flags and size (see the top of this file). */
export function compileSearch(key: SearchKey): CompiledSearch {
  const node = compileNode(key);
  const needs = searchNeeds(key);
  if (node.t === 'const') {
    const v = node.v;
    return { sync: true, needs, test: () => v };
  }
  if (node.t === 'sync') return { sync: true, needs, test: node.f };
  const f = node.f;
  const headerFromRaw = needs.body;
  return { sync: false, needs, test: (m) => f(m, new Lazy(m, headerFromRaw)) };
}

const compiled = new WeakMap<SearchKey, CompiledSearch>();

/** Whether `message` satisfies `key`. */
export async function matches(key: SearchKey, message: SearchMessage): Promise<boolean> {
  let c = compiled.get(key);
  if (c === undefined) {
    c = compileSearch(key);
    compiled.set(key, c);
  }
  return c.test(message);
}
