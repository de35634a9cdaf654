// FETCH and UID FETCH (RFC 9051 sections 6.4.5 and 7.5.2). Each message's answer is built from what
// the view knows (UID, flags, size) and, only when an item needs it, the message itself: read whole
// (with CRLF line ends) for structure and sections, or streamed into the socket for a large BODY[].
// A message another session removed, not yet announced, still answers what is known of it (flags,
// size); items that need its contents are left out and the command ends NO [EXPUNGEISSUED] (RFC 5530).
import type { Readable } from 'node:stream';
import { MessageGoneError, type MessageInfo } from '../../../store/contract.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { binaryBytes } from '../message/binary.js';
import { bodyStructure } from '../message/body-structure.js';
import { envelope } from '../message/envelope.js';
import { type MimePart, parseMime } from '../../../mime/mime-tree.js';
import { sectionBytes } from '../message/sections.js';
import type { SelectedMailbox } from '../selected.js';
import { mergeRanges, parseSequenceSet, resolveNumbers, resolveSet, STAR } from '../wire/sequence-set.js';
import { enableCondstore, inRanges, modseqArg, vanishedSince } from '../condstore.js';
import { type PartialRange, partialOf, partialRangeArg } from '../search/partial.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { formatDateTime } from '../wire/date-time.js';
import { CrlfConverter, toCrlf } from '../../../lib/crlf.js';
import { type FetchItem, parseFetchItems, setsSeen } from './fetch-items.js';
import { extraItem, extraNeedsContent, idItem, isExtraItem, isIdItem } from './extra-items.js';
import { type SummaryKind, type SummaryScope, summaryCache } from './summary-cache.js';
import { requireUid } from '../uidonly.js';

/** Messages larger than this are streamed for a plain BODY[] instead of read whole. */
const STREAM_ABOVE = 256 * 1024;

/**
 * The messages a command names: message numbers (positions in the map) or UIDs (those in the map), each
 * once, ascending. Message numbers past the end are BAD, as in Dovecot 2.3 (RFC 9051 section 9 calls
 * them invalid); UIDs not in use name nothing (RFC 9051 section 6.4.9: "*" is the largest UID).
 */
export function targetUids(m: SelectedMailbox, setText: string, uid: boolean): number[] {
  const set = parseSequenceSet(setText);
  if (uid) return resolveSet(set, m.uids);
  const numbers = resolveNumbers(set, m.uids.length);
  if (numbers === null)
    throw bad(
      m.uids.length === 0 ? 'Invalid message set: the mailbox is empty' : `Invalid message set: the mailbox has ${m.uids.length} messages`,
    );
  return numbers.map((n) => m.uids[n - 1]);
}

function needsContent(item: FetchItem): boolean {
  return (
    item.kind === 'ENVELOPE' ||
    item.kind === 'BODYSTRUCTURE' ||
    item.kind === 'BODY' ||
    item.kind === 'RFC822' ||
    item.kind === 'RFC822.HEADER' ||
    item.kind === 'RFC822.TEXT' ||
    item.kind === 'section' ||
    item.kind === 'BINARY.SIZE' ||
    extraNeedsContent(item)
  );
}

function imapDate(d: Date): string {
  return `"${formatDateTime(d)}"`; // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
}

/**
 * BODY[...] and RFC822 content never carries NUL (RFC 9051 section 4.3: not in a literal; a literal8 is
 * only for BINARY[...], RFC 3516): each NUL is sent as 0x80, as Dovecot does, so the size stays the
 * same. (A binary APPEND stores its binary parts base64-encoded: see message/binary-append.ts.)
 */
function withoutNul(bytes: Buffer): Buffer {
  let at = bytes.indexOf(0);
  if (at < 0) return bytes;
  const out = Buffer.from(bytes);
  for (; at !== -1; at = out.indexOf(0, at + 1)) out[at] = 0x80;
  return out;
}

/** A literal; a literal8 (~{n}) only for BINARY[...] content that has NUL. */
function literal(bytes: Buffer, binary = false): Buffer[] {
  if (!binary) return [Buffer.from(`{${bytes.length}}\r\n`), withoutNul(bytes)];
  return [Buffer.from(`${bytes.includes(0) ? '~' : ''}{${bytes.length}}\r\n`), bytes];
}

function slice(bytes: Buffer, partial: { start: number; length: number } | null): Buffer {
  if (!partial) return bytes;
  return bytes.subarray(Math.min(partial.start, bytes.length), Math.min(partial.start + partial.length, bytes.length));
}

/** Reads the whole message with CRLF line ends. */
async function readWhole(m: SelectedMailbox, uid: number): Promise<Buffer> {
  const now = m.view.readNow(uid);
  if (now) {
    const crlf = m.view.get(uid)?.crlf ? now : toCrlf(now);
    return crlf === now ? Buffer.from(now) : crlf; // readNow's buffer is reused by the next call
  }
  const parts: Buffer[] = [];
  const stream = await m.view.open(uid);
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return toCrlf(Buffer.concat(parts));
}

interface FetchModifiers {
  changedSince: number | null;
  vanished: boolean;
  /** RFC 9394 section 3.3: only these of the messages the set (and CHANGEDSINCE) names, by position. */
  partial: PartialRange | null;
}

/**
 * FETCH modifiers (RFC 7162): CHANGEDSINCE n (section 3.1.4), and VANISHED for UID FETCH with QRESYNC on (3.2.6);
 * PARTIAL m:n or -m:-n (RFC 9394).
 */
function fetchModifiers(s: ImapContext, c: Command): FetchModifiers {
  const a = c.args;
  let changedSince: number | null = null;
  let vanished = false;
  let partial: PartialRange | null = null;
  a.list(() => {
    const name = a.atom('a FETCH modifier').toUpperCase();
    if (name === 'CHANGEDSINCE' && changedSince === null) {
      a.sp();
      changedSince = modseqArg(a, 'the mod-sequence of CHANGEDSINCE');
    } else if (name === 'VANISHED' && !vanished) {
      if (!c.uid) throw bad('VANISHED is a modifier of UID FETCH only');
      if (!s.enabled.has('QRESYNC')) throw bad('VANISHED needs QRESYNC enabled (ENABLE QRESYNC first)');
      vanished = true;
    } else if (name === 'PARTIAL' && partial === null) {
      a.sp();
      partial = partialRangeArg(a);
    } else throw bad(`Unknown or repeated FETCH modifier ${quoteClient(name, 30)}`);
  }, 'the FETCH modifiers');
  if (vanished && changedSince === null) throw bad('VANISHED needs CHANGEDSINCE');
  return { changedSince, vanished, partial };
}

/** The UID ranges of a UID FETCH's set, with "*" standing for `top`. */
function rangesOf(setText: string, top: number): [number, number][] {
  return mergeRanges(
    parseSequenceSet(setText).map(([x, y]) => {
      const a = x === STAR ? top : x;
      const b = y === STAR ? top : y;
      return [Math.min(a, b), Math.max(a, b)];
    }),
  );
}

export async function fetch(s: ImapContext, c: Command): Promise<string | undefined> {
  requireUid(s, c);
  const a = c.args;
  a.sp();
  const setText = a.sequenceSet();
  a.sp();
  const items = parseFetchItems(a);
  const modifiers: FetchModifiers = a.maybeSp() ? fetchModifiers(s, c) : { changedSince: null, vanished: false, partial: null };
  a.end();
  const m = s.selected();
  // (UID FETCH with CHANGEDSINCE finds its few messages by modseq below, without listing every UID of the set)
  let uids = c.uid && modifiers.changedSince !== null ? [] : targetUids(m, setText, c.uid);
  if (c.uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
  // RFC 9586 section 3.3: a UIDFETCH response leads with the UID; the item only if nothing else is asked
  if (m.uidonly && items.some((i) => i.kind !== 'UID')) items.splice(0, items.length, ...items.filter((i) => i.kind !== 'UID'));
  // RFC 7162 section 3.1: MODSEQ and CHANGEDSINCE turn CONDSTORE on; with it on, FLAGS come with MODSEQ
  if (modifiers.changedSince !== null || items.some((i) => i.kind === 'MODSEQ')) enableCondstore(s);
  if (m.condstore && items.some((i) => i.kind === 'FLAGS') && !items.some((i) => i.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });
  const since = modifiers.changedSince;
  if (since !== null) {
    if (!items.some((i) => i.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });
    // RFC 7162 section 3.2.6: the UIDs of the set gone since, first (VANISHED (EARLIER))
    if (modifiers.vanished) {
      const vanished = vanishedSince(m, since, rangesOf(setText, m.view.uidNext - 1));
      if (vanished !== '') s.send(`* VANISHED (EARLIER) ${vanished}`);
    }
    if (c.uid) {
      // the few messages changed since, found by their modseq, then kept if the set names them (a resync
      // of 100,000 messages after 100 changes walks the messages once and names no UID it does not send)
      const named = rangesOf(setText, m.uids[m.uids.length - 1] ?? 1);
      uids = m.view.messages.filter((x) => x.modseq > since && inRanges(named, x.uid) && m.seqOf(x.uid) !== 0).map((x) => x.uid);
    } else uids = uids.filter((uid) => (m.info(uid)?.modseq ?? 0) > since);
  }
  if (modifiers.partial) uids = partialOf(uids, modifiers.partial);

  // \Seen first, so the FLAGS in the answers show it (RFC 9051: "SHOULD be included")
  const marksSeen = items.some(setsSeen) && !m.readOnly && m.rights.includes('s');
  let seenNow = new Set<number>();
  if (marksSeen) {
    const unseen = uids.filter((uid) => {
      const info = m.view.get(uid);
      return info !== undefined && !info.flags.has('\\Seen');
    });
    if (unseen.length > 0) {
      const changed = await m.view.store(unseen, { add: ['\\Seen'] });
      m.changedHere(changed);
      // the flags stored are the file's as they are now: another session's new keyword is announced first
      for (const line of m.announce(changed)) s.send(line);
      seenNow = new Set(changed.map((x) => x.uid));
    }
  }
  const wantsFlags = items.some((i) => i.kind === 'FLAGS');
  const content = items.some(needsContent);
  if (items.every((i) => i.kind === 'UID' || i.kind === 'FLAGS' || i.kind === 'RFC822.SIZE' || i.kind === 'MODSEQ' || isIdItem(i))) {
    metadataOnly(s, m, uids, items, wantsFlags ? null : seenNow);
    return undefined;
  }
  let expungeIssue = false;
  const scope = summaryCache.scope(m.view);
  // a removed message's ENVELOPE/BODY/BODYSTRUCTURE still answer when they are in the cache, as Dovecot's do
  const fromCache = (info: MessageInfo) =>
    items.every(
      (i) =>
        !needsContent(i) ||
        ((i.kind === 'ENVELOPE' || i.kind === 'BODY' || i.kind === 'BODYSTRUCTURE') && summaryCache.get(scope, info, i.kind) !== undefined),
    );
  let cached = 0;
  // decided once: a command asking BODY.PEEK[] never tries the cache for each of its messages
  const mayBeCached = items.every((i) => CACHED_KINDS.has(i.kind));
  for (const uid of uids) {
    const info = m.info(uid);
    if (!info) continue;
    const lineParts = mayBeCached ? cachedResponse(m, info, items, scope) : null;
    if (lineParts !== null) {
      for (const part of lineParts) s.sendRaw(part);
      s.fetched(0);
      if (++cached % 512 === 0) await s.flush(); // a client that does not read holds back the rest, not our memory
      continue;
    }
    const gone = m.isGone(uid) || m.view.get(uid) === undefined;
    if (gone && (items.some((i) => i.kind === 'INTERNALDATE') || (content && !fromCache(info)))) {
      expungeIssue = true;
      continue;
    }
    try {
      await fetchOne(s, m, info, items, wantsFlags || seenNow.has(uid), scope);
    } catch (err) {
      if (!(err instanceof MessageGoneError)) throw err;
      expungeIssue = true;
    }
  }
  if (expungeIssue) throw no('Some of the requested messages were removed by another session', 'EXPUNGEISSUED');
  return undefined;
}

/**
 * What the view knows, one line per message without reading any (a client syncing flags: UID FETCH
 * 1:* (UID FLAGS) on 100,000 messages). UIDs, the map and the view's messages are all ascending, so
 * each message's number and info are found by walking them side by side.
 */
function metadataOnly(
  s: ImapContext,
  m: SelectedMailbox,
  uids: readonly number[],
  items: readonly FetchItem[],
  addFlags: ReadonlySet<number> | null,
): void {
  const messages = m.view.messages;
  const map = m.uids;
  let k = 0;
  let p = 0;
  const lines: string[] = [];
  let length = 0;
  for (const uid of uids) {
    while (p < map.length && map[p] < uid) p++;
    while (k < messages.length && messages[k].uid < uid) k++;
    const info = messages[k]?.uid === uid ? messages[k] : m.info(uid);
    if (!info) continue;
    let line = m.uidonly ? `* ${uid} UIDFETCH (` : `* ${p + 1} FETCH (`;
    for (let i = 0; i < items.length; i++) {
      const kind = items[i].kind;
      if (i > 0) line += ' ';
      if (isIdItem(items[i]))
        line += idItem(items[i], m, info); // imapflow asks EMAILID in every FETCH
      else
        line +=
          kind === 'UID'
            ? `UID ${uid}`
            : kind === 'FLAGS'
              ? `FLAGS ${m.flagsOf(info)}`
              : kind === 'MODSEQ'
                ? `MODSEQ (${info.modseq})`
                : `RFC822.SIZE ${info.size}`;
    }
    if (addFlags?.has(uid))
      line += ` FLAGS ${m.flagsOf(info)}${m.condstore && !items.some((i) => i.kind === 'MODSEQ') ? ` MODSEQ (${info.modseq})` : ''}`;
    line += ')\r\n';
    lines.push(line);
    length += line.length;
    if (length > 64 * 1024) {
      s.sendRaw(lines.join(''));
      lines.length = 0;
      length = 0;
    }
  }
  if (lines.length > 0) s.sendRaw(lines.join(''));
}

/** The items cachedResponse can answer (ENVELOPE, BODY, BODYSTRUCTURE only when the cache has them). */
const CACHED_KINDS: ReadonlySet<FetchItem['kind']> = new Set([
  'UID',
  'FLAGS',
  'RFC822.SIZE',
  'MODSEQ',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
]);

/**
 * The FETCH response of a message from what is in memory, without waiting for anything, when every item asked is
 * (UID, FLAGS, RFC822.SIZE, MODSEQ, and ENVELOPE, BODY, BODYSTRUCTURE found in the cache): what a client asks
 * after each SELECT (`FETCH 1:n (UID FLAGS ENVELOPE)`), 200 messages a session in the mixed load, where
 * fetchOne's per-message promises, closures and buffers were about a tenth of the event loop's work. Null
 * when an item needs more (fetchOne answers it); the octets are fetchOne's. A removed message's cached
 * answers are given too, as fetchOne gives them. (None of these items sets \Seen: no FLAGS to add.)
 */
function cachedResponse(
  m: SelectedMailbox,
  info: MessageInfo,
  items: readonly FetchItem[],
  scope: SummaryScope,
): (string | Buffer)[] | null {
  const parts: (string | Buffer)[] = [];
  let text = m.uidonly ? `* ${info.uid} UIDFETCH (` : `* ${m.seqOf(info.uid)} FETCH (`;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (i > 0) text += ' ';
    switch (item.kind) {
      case 'UID':
        text += `UID ${info.uid}`;
        break;
      case 'FLAGS':
        text += `FLAGS ${m.flagsOf(m.info(info.uid) ?? info)}`;
        break;
      case 'RFC822.SIZE':
        text += `RFC822.SIZE ${info.size}`;
        break;
      case 'MODSEQ':
        text += `MODSEQ (${(m.info(info.uid) ?? info).modseq})`;
        break;
      case 'ENVELOPE':
      case 'BODY':
      case 'BODYSTRUCTURE': {
        const hit = summaryCache.get(scope, info, item.kind);
        if (hit === undefined) return null;
        if (typeof hit === 'string') text += `${item.kind} ${hit}`;
        else {
          parts.push(`${text}${item.kind} `, hit);
          text = '';
        }
        break;
      }
      default:
        return null;
    }
  }
  parts.push(`${text})\r\n`);
  return parts;
}

async function fetchOne(
  s: ImapContext,
  m: SelectedMailbox,
  info: MessageInfo,
  items: readonly FetchItem[],
  withFlags: boolean,
  scope: SummaryScope,
): Promise<void> {
  const seq = m.seqOf(info.uid);
  const out: Buffer[] = [];
  let first = true;
  const add = (text: string) => {
    out.push(Buffer.from(first ? text : ` ${text}`));
    first = false;
  };
  // a large BODY[] alone is streamed; everything else is built from the whole message
  const whole = items.find((i) => i.kind === 'section' && i.section === null && !i.binary && i.partial === null);
  const streamIt = whole !== undefined && info.size > STREAM_ABOVE && items.every((i) => !needsContent(i) || i === whole);
  let raw: Buffer | null = null;
  let tree: MimePart | null = null;
  const message = async () => (raw ??= await readWhole(m, info.uid));
  const mime = async () => (tree ??= parseMime(await message()));
  /** ENVELOPE, BODY, BODYSTRUCTURE: from the cache, else rendered from the message and kept. */
  const summary = async (kind: SummaryKind, render: () => Promise<Buffer>) => {
    const hit = summaryCache.get(scope, info, kind);
    if (hit !== undefined) return typeof hit === 'string' ? Buffer.from(hit, 'latin1') : hit;
    const made = await render();
    summaryCache.set(scope, info, kind, made);
    return made;
  };
  let stream: Readable | null = null;
  let flagsSent = false;
  for (const item of items) {
    switch (item.kind) {
      case 'UID':
        add(`UID ${info.uid}`);
        break;
      case 'FLAGS':
        add(`FLAGS ${m.flagsOf(m.info(info.uid) ?? info)}`);
        flagsSent = true;
        break;
      case 'INTERNALDATE':
        add(`INTERNALDATE ${imapDate(await m.view.internalDate(info.uid))}`);
        break;
      case 'RFC822.SIZE':
        add(`RFC822.SIZE ${info.size}`);
        break;
      case 'MODSEQ':
        add(`MODSEQ (${(m.info(info.uid) ?? info).modseq})`);
        break;
      case 'ENVELOPE':
        add('ENVELOPE ');
        out.push(await summary('ENVELOPE', async () => envelope(await message(), await mime())));
        break;
      case 'BODYSTRUCTURE':
      case 'BODY':
        add(`${item.kind} `);
        out.push(await summary(item.kind, async () => bodyStructure(await message(), await mime(), item.kind === 'BODYSTRUCTURE')));
        break;
      case 'RFC822':
      case 'RFC822.HEADER':
      case 'RFC822.TEXT': {
        const spec =
          item.kind === 'RFC822' ? null : { part: [], text: item.kind === 'RFC822.HEADER' ? ('HEADER' as const) : ('TEXT' as const) };
        const bytes = spec ? (sectionBytes(await message(), await mime(), spec) ?? Buffer.alloc(0)) : await message();
        add(`${item.kind} `);
        out.push(...literal(bytes));
        break;
      }
      case 'section': {
        const name = `${item.binary ? 'BINARY' : 'BODY'}[${item.label}]${item.partial ? `<${item.partial.start}>` : ''}`;
        if (item === whole && streamIt) {
          add(`${name} {${info.size}}\r\n`);
          stream = await m.view.open(info.uid);
          break;
        }
        let bytes: Buffer | null;
        if (item.binary) {
          const decoded =
            item.section === null || item.section.part.length === 0
              ? binaryBytes(await message(), await mime(), [])
              : binaryBytes(await message(), await mime(), item.section.part);
          if (decoded === 'unknown-cte')
            throw no(`Message ${info.uid}: its part uses a transfer encoding the server cannot decode`, 'UNKNOWN-CTE');
          bytes = decoded;
        } else bytes = item.section === null ? await message() : sectionBytes(await message(), await mime(), item.section);
        add(`${name} `);
        if (bytes === null) out.push(Buffer.from('NIL'));
        else out.push(...literal(slice(bytes, item.partial), item.binary));
        break;
      }
      case 'SAVEDATE':
      case 'EMAILID':
      case 'THREADID':
      case 'PREVIEW':
        add('');
        out.push(await extraItem(item, m, info, async () => ({ raw: await message(), tree: await mime() })));
        break;
      case 'BINARY.SIZE': {
        const decoded = binaryBytes(await message(), await mime(), item.part);
        if (decoded === 'unknown-cte')
          throw no(`Message ${info.uid}: its part uses a transfer encoding the server cannot decode`, 'UNKNOWN-CTE');
        add(`BINARY.SIZE[${item.label}] ${decoded === null ? 0 : decoded.length}`);
        break;
      }
    }
    if (stream) break; // the streamed item goes last (items after it follow it, see below)
  }
  // \Seen set by this FETCH: its FLAGS, and with CONDSTORE on its MODSEQ (RFC 7162 section 3.1); after a
  // streamed literal they follow the literal (see below), never inside it
  const implicit: string[] = [];
  if (withFlags && !flagsSent) {
    implicit.push(`FLAGS ${m.flagsOf(m.info(info.uid) ?? info)}`);
    if (m.condstore && !items.some((i) => i.kind === 'MODSEQ')) implicit.push(`MODSEQ (${(m.info(info.uid) ?? info).modseq})`);
  }
  if (!stream) for (const piece of implicit) add(piece);
  s.sendRaw(m.uidonly ? `* ${info.uid} UIDFETCH (` : `* ${seq} FETCH (`);
  for (const piece of out) s.sendRaw(piece); // one copy, when the channel writes them together
  if (stream) {
    if (info.crlf)
      await s.sendStream(stream, withoutNul); // CRLF already: the file's octets as they are
    else {
      const crlf = new CrlfConverter();
      await s.sendStream(stream, (chunk) => withoutNul(crlf.convert(chunk)));
    }
    // the items after the streamed one (rare: clients ask BODY[] last)
    const after = items.slice(items.indexOf(whole!) + 1);
    const tail: string[] = [];
    for (const item of after) {
      if (item.kind === 'UID') tail.push(`UID ${info.uid}`);
      else if (item.kind === 'FLAGS') tail.push(`FLAGS ${m.flagsOf(m.info(info.uid) ?? info)}`);
      else if (item.kind === 'RFC822.SIZE') tail.push(`RFC822.SIZE ${info.size}`);
      else if (item.kind === 'MODSEQ') tail.push(`MODSEQ (${(m.info(info.uid) ?? info).modseq})`);
      else if (item.kind === 'INTERNALDATE') tail.push(`INTERNALDATE ${imapDate(await m.view.internalDate(info.uid))}`);
      else if (isExtraItem(item) && !extraNeedsContent(item))
        tail.push((await extraItem(item, m, info, async () => ({ raw: await message(), tree: await mime() }))).toString());
    }
    tail.push(...implicit);
    s.sendRaw(`${tail.map((t) => ` ${t}`).join('')})\r\n`);
  } else s.sendRaw(')\r\n');
  s.fetched((raw as Buffer | null)?.length ?? (stream ? info.size : 0));
}
