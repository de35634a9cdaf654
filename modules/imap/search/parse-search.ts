// The SEARCH key grammar (RFC 9051 section 6.4.4 and section 9: search-key), parsed into search-key.ts's
// tree. Message numbers and UID sets are resolved against the mailbox as the client knows it now.
import { bad, no } from '../imap-error.js';
import type { SelectedMailbox } from '../selected.js';
import type { Cursor } from '../wire/cursor.js';
import { parseSequenceSet, resolveSearchNumbers, resolveSet } from '../wire/sequence-set.js';
import type { SearchDay, SearchKey } from './search-key.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { monthOf, validDay } from '../wire/date-time.js';
import { modseqArg } from '../condstore.js';
import { uidRequired } from '../uidonly.js';

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const HEADER_KEYS: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };
const DATE_KEYS: Record<string, ['internal' | 'sent' | 'saved', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  SAVEDBEFORE: ['saved', 'before'],
  SAVEDON: ['saved', 'on'],
  SAVEDSINCE: ['saved', 'since'],
};

function parseDay(text: string): SearchDay {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  const month = m ? monthOf(m[2]) : 0;
  // a day the month does not have (32-Jan, 30-Feb) is refused as APPEND's date-time is
  if (!m || !validDay(Number(m[3]), month, Number(m[1]))) throw bad(`${quoteClient(text, 30)} is not a date such as 1-Dec-2026`);
  return { year: Number(m[3]), month, day: Number(m[1]) };
}

/**
 * How deep search keys may nest: parentheses, NOT and OR each count one level (a chain of n ORs is n
 * deep). Deeper is answered BAD: the parser and the matcher recurse, and a client could otherwise
 * exhaust the stack. Dovecot limits nesting too.
 */
export const MAX_SEARCH_DEPTH = 1000;

export class SearchParser {
  private depth = 0;
  /** True once a MODSEQ key was read (RFC 7162 section 3.1.6: the answer then says the highest modseq found). */
  usesModseq = false;

  constructor(
    private readonly a: Cursor,
    private readonly mailbox: SelectedMailbox,
  ) {}

  /** One search-key, nested at most MAX_SEARCH_DEPTH deep. */
  key(): SearchKey {
    if (this.depth >= MAX_SEARCH_DEPTH)
      throw bad(`Search keys nested more than ${MAX_SEARCH_DEPTH} deep (parentheses, NOT and OR each count one level)`, 'LIMIT');
    this.depth += 1;
    try {
      return this.oneKey();
    } finally {
      this.depth -= 1;
    }
  }

  private string(): string {
    return this.a.astring('a search string');
  }

  private oneKey(): SearchKey {
    const a = this.a;
    if (a.peek() === 0x28) {
      const keys: SearchKey[] = [];
      a.list(() => keys.push(this.key()), 'a parenthesised search key');
      if (keys.length === 0) throw bad('Empty parenthesised search key');
      return keys.length === 1 ? keys[0] : { kind: 'and', keys };
    }
    const c = a.peek();
    if ((c >= 0x30 && c <= 0x39) || c === 0x2a) {
      // message numbers: positions in the map (numbers past the end name nothing; see resolveSearchNumbers)
      if (this.mailbox.uidonly) throw uidRequired('A search key of message numbers (use UID and a UID set)'); // RFC 9586 section 3.5
      const map = this.mailbox.uids;
      return { kind: 'uids', uids: new Set(resolveSearchNumbers(parseSequenceSet(a.sequenceSet()), map.length).map((n) => map[n - 1])) };
    }
    if (c === 0x24) throw bad('$ (SEARCHRES) is not supported');
    const word = a.atom('a search key').toUpperCase();
    if (FLAG_KEYS[word]) {
      const [flag, set] = FLAG_KEYS[word];
      return { kind: 'flag', flag, set };
    }
    if (HEADER_KEYS[word]) {
      a.sp();
      const value = this.string();
      return word === 'SUBJECT'
        ? { kind: 'header', field: HEADER_KEYS[word], value, subject: true }
        : { kind: 'header', field: HEADER_KEYS[word], value, address: true };
    }
    if (DATE_KEYS[word]) {
      a.sp();
      const [field, op] = DATE_KEYS[word];
      return { kind: 'date', field, op, day: parseDay(this.string()) };
    }
    switch (word) {
      case 'ALL':
        return { kind: 'all' };
      case 'NEW':
        return {
          kind: 'and',
          keys: [
            { kind: 'recent', recent: true },
            { kind: 'flag', flag: '\\Seen', set: false },
          ],
        };
      case 'RECENT':
        return { kind: 'recent', recent: true };
      case 'OLD':
        return { kind: 'recent', recent: false };
      case 'KEYWORD':
      case 'UNKEYWORD': {
        a.sp();
        return { kind: 'flag', flag: a.atom('a keyword'), set: word === 'KEYWORD' };
      }
      case 'BODY':
      case 'TEXT':
        a.sp();
        return { kind: 'text', where: word === 'BODY' ? 'body' : 'text', value: this.string() };
      case 'HEADER': {
        a.sp();
        const field = this.string();
        a.sp();
        return { kind: 'header', field, value: this.string() };
      }
      case 'SAVEDATESUPPORTED':
        return { kind: 'all' }; // RFC 8514 section 4.2: every mailbox keeps save dates
      case 'EMAILID':
      case 'THREADID': {
        // RFC 8474 section 6: resolved now to the messages that have the id (no message has a THREADID)
        a.sp();
        const id = a.atom('an object id');
        const m = this.mailbox;
        const uids =
          word === 'EMAILID'
            ? m.uids.filter((uid) => {
                const info = m.info(uid);
                return info !== undefined && m.view.emailId(info) === id;
              })
            : [];
        return { kind: 'uids', uids: new Set(uids) };
      }
      case 'OLDER':
      case 'YOUNGER': {
        // RFC 5032 section 3: an interval in seconds, from the time the command is run
        a.sp();
        const seconds = a.number('an interval in seconds');
        if (seconds === 0) throw bad(`${word} needs an interval of at least one second`);
        return { kind: 'within', op: word === 'OLDER' ? 'older' : 'younger', seconds, now: Math.floor(Date.now() / 1000) };
      }
      case 'LARGER':
      case 'SMALLER':
        a.sp();
        return { kind: 'size', op: word === 'LARGER' ? 'larger' : 'smaller', octets: a.number64('a size in octets') };
      case 'NOT':
        a.sp();
        return { kind: 'not', key: this.key() };
      case 'OR': {
        a.sp();
        const x = this.key();
        a.sp();
        return { kind: 'or', a: x, b: this.key() };
      }
      case 'MODSEQ': {
        // RFC 7162 section 3.1.5: MODSEQ [entry-name entry-type-req] n; flags share the message's modseq
        a.sp();
        if (a.peek() === 0x22) {
          const entry = a.astring('a MODSEQ entry name');
          if (!entry.toLowerCase().startsWith('/flags/')) throw bad(`${quoteClient(entry, 40)} is not a MODSEQ entry name ("/flags/...")`);
          a.sp();
          const type = a.atom('priv, shared or all').toLowerCase();
          if (type !== 'priv' && type !== 'shared' && type !== 'all') throw bad(`${quoteClient(type, 20)} is not priv, shared or all`);
          a.sp();
        }
        this.usesModseq = true;
        return { kind: 'modseq', modseq: modseqArg(a, 'a mod-sequence') };
      }
      case 'UID': {
        a.sp();
        const set = parseSequenceSet(a.sequenceSet('a UID set'));
        return { kind: 'uids', uids: new Set(resolveSet(set, this.mailbox.uids)) };
      }
      default:
        throw bad(`Unknown search key ${quoteClient(word, 30)}`);
    }
  }

  /** search-key *(SP search-key), to the end of the command. */
  keys(): SearchKey {
    const keys: SearchKey[] = [this.key()];
    while (this.a.maybeSp()) keys.push(this.key());
    this.a.end();
    return keys.length === 1 ? keys[0] : { kind: 'and', keys };
  }
}

/** CHARSET (RFC 9051: UTF-8 and US-ASCII must be supported; others answer [BADCHARSET]). */
export function checkCharset(name: string): void {
  const upper = name.toUpperCase();
  if (upper !== 'UTF-8' && upper !== 'US-ASCII')
    throw no(`The charset ${quoteClient(name, 30)} is not supported`, 'BADCHARSET (UTF-8 US-ASCII)');
}
