// Reads one whole IMAP command (RFC 9051 sections 2.2.1 and 7.5), a framing layer on the session's line
// input (sessions/line-input.ts): its first line, and each literal a line announces ({n} synchronising:
// answered "+ ..." first; {n+} non-synchronising, RFC 7888) with the line that follows it, within one
// budget for the whole command (imap.maxLineLength). APPEND's message literal is not read here: the
// reader stops in front of it, so the handler can stream it to the store.
import type { LineInput } from '../../../sessions/line-input.js';

/** A piece of a command: text from a line (without CRLF and without a literal's "{n}"), or a literal's octets. */
export type Part =
  | { readonly kind: 'text'; readonly bytes: Buffer }
  | { readonly kind: 'literal'; readonly bytes: Buffer; readonly binary: boolean };

/** A literal announced but left unread (APPEND's message). */
export interface PendingLiteral {
  readonly size: number;
  /** {n}: the client waits for "+" before sending it. */
  readonly sync: boolean;
  /** ~{n} (RFC 3516 literal8). */
  readonly binary: boolean;
}

export type ReadResult =
  | { kind: 'command'; parts: Part[]; literal: PendingLiteral | null }
  /** The command was refused before it was whole (answered with `tag BAD [code] text` by the caller). */
  | { kind: 'refused'; tag: string | null; code: 'TOOBIG' | 'LIMIT'; text: string }
  /** A literal larger than limits.maxLiteral was announced (before sign-in): the connection is to be closed. */
  | { kind: 'literal-too-large'; size: number }
  | { kind: 'closed' };

const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;

export interface ReaderLimits {
  /** Octets of a whole command, lines and literals together (the message of an APPEND aside). */
  maxCommand: number;
  /**
   * Octets of any one literal, APPEND's message included (before sign-in: a client that has not
   * signed in may not make the server read, or wait for, a large literal). None when undefined.
   */
  maxLiteral?: number;
}

export interface ReaderHooks {
  /** Sends the continuation request for a synchronising literal ("+ Ready for literal data"). */
  continueLiteral(): void;
  /** True when the literal announced after `parts` is data to stream (APPEND's message). */
  streams(parts: readonly Part[]): boolean;
}

/** The tag at the start of a first line, if it has one that can be used in an answer. */
export function tagOf(line: Buffer): string | null {
  const text = line.toString('latin1');
  const m = /^([\x21-\x7e]+?)(?: |$)/.exec(text);
  if (!m || /[(){%*"\\+]/.test(m[1])) return null;
  return m[1];
}

/** The literal announced at the end of a line ("{n}", "{n+}", "~{n}"): where it starts, its size and kind. */
export function literalAt(text: Buffer): { at: number; size: number; sync: boolean; binary: boolean } | null {
  if (text.length === 0 || text[text.length - 1] !== 0x7d) return null; // "}"
  const tail = text.subarray(Math.max(0, text.length - 26)).toString('latin1');
  const m = LITERAL_AT_END.exec(tail);
  if (!m) return null;
  return { at: text.length - m[0].length, size: Number(m[2]), sync: m[3] !== '+', binary: m[1] === '~' };
}

export async function readCommand(input: LineInput, limits: ReaderLimits, hooks: ReaderHooks): Promise<ReadResult> {
  const parts: Part[] = [];
  let used = 0;
  let tag: string | null = null;
  for (;;) {
    const line = await input.line(Math.max(0, limits.maxCommand - used));
    if (line.kind === 'closed') return { kind: 'closed' };
    if (line.kind === 'too-long') {
      // The rest of this line is gone; a literal it may have announced was never asked for ({n}) or
      // arrives as lines that will be refused as the commands they do not make ({n+}).
      return {
        kind: 'refused',
        tag: parts.length === 0 ? tagOf(line.head) : tag,
        code: 'TOOBIG',
        text: `Command too long (the limit is ${limits.maxCommand} octets)`,
      };
    }
    if (parts.length === 0) tag = tagOf(line.bytes);
    used += line.bytes.length + 2;
    const literal = literalAt(line.bytes);
    if (!literal) {
      parts.push({ kind: 'text', bytes: line.bytes });
      return { kind: 'command', parts, literal: null };
    }
    parts.push({ kind: 'text', bytes: line.bytes.subarray(0, literal.at) });
    if (limits.maxLiteral !== undefined && literal.size > limits.maxLiteral) return { kind: 'literal-too-large', size: literal.size };
    if (hooks.streams(parts))
      return { kind: 'command', parts, literal: { size: literal.size, sync: literal.sync, binary: literal.binary } };
    if (literal.size > limits.maxCommand - used) {
      if (!literal.sync) await skipCommand(input, literal.size, limits.maxCommand);
      return { kind: 'refused', tag, code: 'TOOBIG', text: `Literal too large (a command may have at most ${limits.maxCommand} octets)` };
    }
    if (literal.sync) hooks.continueLiteral();
    const bytes = await input.take(literal.size).catch(() => null);
    if (bytes === null) return { kind: 'closed' };
    used += literal.size;
    parts.push({ kind: 'literal', bytes, binary: literal.binary });
  }
}

/**
 * Drops the rest of a refused command that the client sends anyway: a non-synchronising literal of
 * `size` octets and the lines (and further {n+} literals) after it, to the command's end.
 */
async function skipCommand(input: LineInput, size: number, maxLine: number): Promise<void> {
  let literal: number | null = size;
  while (literal !== null) {
    await input.bytes(literal, () => {}).catch(() => {});
    const line = await input.line(maxLine);
    if (line.kind !== 'line') return;
    const next = literalAt(line.bytes);
    literal = next && !next.sync ? next.size : null;
  }
}
