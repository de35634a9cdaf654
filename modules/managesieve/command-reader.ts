// Reads one whole ManageSieve command (RFC 5804 section 4), a framing layer on the session's line input
// (sessions/line-input.ts): its first line and each literal a line announces ("{n+}", or "{n}": the client
// sends it without waiting, there is no continuation in ManageSieve) with the line that follows it, within one
// budget for the whole command (managesieve.maxLineLength). The script of PUTSCRIPT and CHECKSCRIPT has its own
// bound (sieve.maxScriptSize): a larger one is read to its end and dropped, and the command answered by its size.
import type { LineInput } from '../../sessions/line-input.js';
import { literalAt, type Part } from './wire.js';

export type ReadResult =
  | { kind: 'command'; parts: Part[] }
  /** The command was refused before it was whole (the rest of it was dropped). */
  | { kind: 'refused'; verb: string; text: string }
  /** A script literal larger than its bound (it was dropped): `size` as announced, `parts` before it. */
  | { kind: 'script-too-large'; parts: Part[]; size: number }
  /** A literal larger than the whole command may be, before sign-in: the connection is to be closed. */
  | { kind: 'literal-too-large' }
  /** A line that does not end (more than `endlessAfter` octets of it): the connection is to be closed. */
  | { kind: 'endless' }
  | { kind: 'closed' };

export interface ReaderLimits {
  /** Octets of a whole command, lines and literals together (a script aside). */
  maxCommand: number;
  /** True when a literal too large is answered by closing the connection (before sign-in). */
  closeOnLargeLiteral: boolean;
  /** Octets of a line past which, still without its end, it is endless. */
  endlessAfter: number;
}

/** Where a script literal is: the bound of the literal announced after `parts`, null when it is not a script. */
export type ScriptBound = (parts: readonly Part[]) => number | null;

/** The verb of a first line, for an answer about a command that did not parse. */
function verbOf(line: Buffer): string {
  const text = line.subarray(0, 64).toString('latin1');
  return text.split(' ', 1)[0].toUpperCase();
}

export async function readCommand(input: LineInput, limits: ReaderLimits, scriptBound: ScriptBound): Promise<ReadResult> {
  const parts: Part[] = [];
  let used = 0;
  let verb = '';
  for (;;) {
    const line = await input.line(Math.max(0, limits.maxCommand - used), limits.endlessAfter);
    if (line.kind === 'closed') return { kind: 'closed' };
    if (line.kind === 'too-long' && line.endless) return { kind: 'endless' };
    if (line.kind === 'too-long')
      return { kind: 'refused', verb: parts.length === 0 ? verbOf(line.head) : verb, text: 'Too long argument.' };
    if (parts.length === 0) verb = verbOf(line.bytes);
    used += line.bytes.length + 2;
    const literal = literalAt(line.bytes);
    if (!literal) {
      parts.push({ kind: 'text', bytes: line.bytes });
      return { kind: 'command', parts };
    }
    parts.push({ kind: 'text', bytes: line.bytes.subarray(0, literal.at) });
    const bound = scriptBound(parts);
    if (bound !== null) {
      if (literal.size > bound) {
        await skipRest(input, literal.size, limits.maxCommand);
        return { kind: 'script-too-large', parts, size: literal.size };
      }
    } else if (literal.size > limits.maxCommand - used) {
      if (limits.closeOnLargeLiteral) return { kind: 'literal-too-large' };
      await skipRest(input, literal.size, limits.maxCommand);
      return { kind: 'refused', verb, text: 'Literal size too large' };
    } else {
      used += literal.size;
    }
    const bytes = await input.take(literal.size).catch(() => null);
    if (bytes === null) return { kind: 'closed' };
    parts.push({ kind: 'literal', bytes });
  }
}

/** Drops a literal of `size` octets the client sends anyway and the rest of its command (the lines and literals after it). */
async function skipRest(input: LineInput, size: number, maxLine: number): Promise<void> {
  let literal: number | null = size;
  while (literal !== null) {
    await input.bytes(literal, () => {}).catch(() => {});
    const line = await input.line(maxLine);
    if (line.kind !== 'line') return;
    literal = literalAt(line.bytes)?.size ?? null;
  }
}
