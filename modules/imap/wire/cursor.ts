// Parses a command's arguments (RFC 9051 section 9, the formal syntax) from the parts the reader
// assembled: a cursor over text with literals between. Each method reads one production or throws
// a BAD that says what was expected where.
import { bad } from '../imap-error.js';
import { quoteClient } from '../../../sessions/client-text.js';
import type { Part } from './command-reader.js';

const SP = 0x20;

// atom-specials (RFC 9051 section 9): ( ) { SP CTL list-wildcards quoted-specials resp-specials
function isAtomChar(c: number): boolean {
  return (
    c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x5d
  );
}

/** ASTRING-CHAR: ATOM-CHAR or "]"; 8-bit octets are accepted too (UTF-8 names from IMAP4rev2 clients). */
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d || c >= 0x80;
}

export class Cursor {
  private index = 0;
  private pos = 0;
  /** Set for commands whose arguments are secrets (LOGIN, AUTHENTICATE): errors never quote them. */
  secret = false;

  constructor(private readonly parts: readonly Part[]) {}

  private get part(): Part | undefined {
    return this.parts[this.index];
  }

  /** The octet at the cursor in a text part, or -1 at a literal or the end. */
  peek(): number {
    const part = this.part;
    if (part?.kind !== 'text') return -1;
    if (this.pos < part.bytes.length) return part.bytes[this.pos];
    return -1;
  }

  /** The octet `offset` places after the cursor in the current text part, or -1 past it. */
  peekAt(offset: number): number {
    const part = this.part;
    if (part?.kind !== 'text' || this.pos + offset >= part.bytes.length) return -1;
    return part.bytes[this.pos + offset];
  }

  /** True when a literal starts at the cursor. */
  atLiteral(): boolean {
    const part = this.part;
    if (!part) return false;
    if (part.kind === 'literal') return true;
    return this.pos >= part.bytes.length && this.parts[this.index + 1]?.kind === 'literal';
  }

  /** True at the end of the command. */
  atEnd(): boolean {
    for (let i = this.index; i < this.parts.length; i++) {
      const part = this.parts[i];
      if (part.kind === 'literal') return false;
      if (part.bytes.length > (i === this.index ? this.pos : 0)) return false;
    }
    return true;
  }

  /** The unparsed rest of the current text part (for error messages), quoted safely; never a secret. */
  private near(): string {
    const part = this.part;
    if (part?.kind !== 'text') return this.atEnd() ? 'the end of the command' : 'a literal';
    const rest = part.bytes.subarray(this.pos);
    if (rest.length === 0) return 'the end of the line';
    if (this.secret) return `octet ${this.pos + 1} of the line (the arguments are not shown)`;
    return quoteClient(rest, 20);
  }

  fail(expected: string): never {
    throw bad(`Expected ${expected} at ${this.near()}`);
  }

  /** Consumes `c` if it is next. */
  accept(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos += 1;
    return true;
  }

  expect(c: number, what: string): void {
    if (!this.accept(c)) this.fail(what);
  }

  sp(): void {
    this.expect(SP, 'a space');
  }

  /** Consumes a space if one is next. */
  maybeSp(): boolean {
    return this.accept(SP);
  }

  end(): void {
    if (!this.atEnd()) this.fail('the end of the command');
  }

  private takeWhile(ok: (c: number) => boolean): Buffer {
    const part = this.part;
    if (part?.kind !== 'text') return Buffer.alloc(0);
    const start = this.pos;
    while (this.pos < part.bytes.length && ok(part.bytes[this.pos])) this.pos += 1;
    return part.bytes.subarray(start, this.pos);
  }

  atom(what = 'an atom'): string {
    const b = this.takeWhile(isAtomChar);
    if (b.length === 0) this.fail(what);
    return b.toString('latin1');
  }

  /** An atom that may hold "]" and 8-bit octets (astring's atom form), as UTF-8 text. */
  private astringAtom(what: string): Buffer {
    const b = this.takeWhile(isAstringChar);
    if (b.length === 0) this.fail(what);
    return b;
  }

  number(what = 'a number'): number {
    const b = this.takeWhile((c) => c >= 0x30 && c <= 0x39);
    if (b.length === 0 || b.length > 10) this.fail(what);
    const n = Number(b.toString('latin1'));
    if (n > 0xffffffff) this.fail(`${what} (at most 4294967295)`);
    return n;
  }

  /** The text of a sequence-set (digits, ":", ",", "*"; parsed by sequence-set.ts). */
  sequenceSet(what = 'a sequence set'): string {
    const b = this.takeWhile((c) => (c >= 0x30 && c <= 0x39) || c === 0x3a || c === 0x2c || c === 0x2a || c === 0x24);
    if (b.length === 0) this.fail(what);
    return b.toString('latin1');
  }

  /** number64 (RFC 9051): sizes in SEARCH LARGER/SMALLER. */
  number64(what = 'a number'): number {
    const b = this.takeWhile((c) => c >= 0x30 && c <= 0x39);
    if (b.length === 0 || b.length > 15) this.fail(what);
    return Number(b.toString('latin1'));
  }

  /** True when the literal at the cursor is a literal8 (~{n}, RFC 3516). */
  atLiteral8(): boolean {
    if (!this.atLiteral()) return false;
    const part = this.part?.kind === 'literal' ? this.part : this.parts[this.index + 1];
    return part?.kind === 'literal' && part.binary;
  }

  /** A literal's octets; a literal8 only where `literal8` says the grammar has one (APPEND's message). */
  private literal(literal8 = false): Buffer {
    if (this.part?.kind === 'text') {
      this.index += 1;
      this.pos = 0;
    }
    const part = this.part as Part & { kind: 'literal' };
    if (part.binary && !literal8) this.fail('a literal ({n}): a literal8 (~{n}) is allowed only for the message of APPEND');
    this.index += 1;
    this.pos = 0;
    return part.bytes;
  }

  private quoted(what: string): Buffer {
    this.expect(0x22, what);
    const part = this.part as Part & { kind: 'text' };
    const out: number[] = [];
    for (;;) {
      if (this.pos >= part.bytes.length) this.fail('the closing quote of a string');
      const c = part.bytes[this.pos++];
      if (c === 0x22) return Buffer.from(out);
      if (c === 0x5c) {
        const next = part.bytes[this.pos++];
        if (next !== 0x22 && next !== 0x5c) this.fail('\\" or \\\\ in a quoted string');
        out.push(next);
      } else out.push(c);
    }
  }

  /** string: quoted or a literal, as octets. */
  stringBytes(what = 'a string', literal8 = false): Buffer {
    if (this.atLiteral()) return this.literal(literal8);
    return this.quoted(what);
  }

  string(what = 'a string'): string {
    return this.stringBytes(what).toString('utf8');
  }

  /** astring: an atom (with "]"), a quoted string or a literal. */
  astringBytes(what = 'a string'): Buffer {
    if (this.atLiteral()) return this.literal();
    if (this.peek() === 0x22) return this.quoted(what);
    return this.astringAtom(what);
  }

  astring(what = 'a string'): string {
    return this.astringBytes(what).toString('utf8');
  }

  /** nstring-like: NIL or a string (ID's values). */
  nilOrString(what = 'a string or NIL'): string | null {
    if (this.peekAtom('NIL')) {
      this.atom();
      return null;
    }
    return this.string(what);
  }

  /** list-mailbox (LIST patterns): list-chars with % and *, or a string. */
  listMailbox(): string {
    if (this.atLiteral() || this.peek() === 0x22) return this.string('a mailbox pattern');
    const b = this.takeWhile((c) => isAstringChar(c) || c === 0x25 || c === 0x2a);
    if (b.length === 0) this.fail('a mailbox pattern');
    return b.toString('utf8');
  }

  /** True when the next atom is `word` (any case), without consuming it. */
  peekAtom(word: string): boolean {
    const part = this.part;
    if (part?.kind !== 'text') return false;
    const text = part.bytes.subarray(this.pos, this.pos + word.length + 1).toString('latin1');
    if (text.slice(0, word.length).toUpperCase() !== word) return false;
    const after = text.charCodeAt(word.length);
    return Number.isNaN(after) || !isAtomChar(after);
  }

  /** A parenthesised list, `item` called for each element (separated by single spaces). */
  list(item: () => void, what = 'a list'): void {
    this.expect(0x28, `"(" starting ${what}`);
    if (this.accept(0x29)) return;
    for (;;) {
      item();
      if (this.accept(0x29)) return;
      this.expect(SP, `a space or ")" in ${what}`);
    }
  }

  /** Characters up to (not including) one of `stops`, within the current text part. */
  until(stops: string): string {
    const codes = [...stops].map((c) => c.charCodeAt(0));
    return this.takeWhile((c) => !codes.includes(c)).toString('latin1');
  }
}
