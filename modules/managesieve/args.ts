// The arguments a handler expects, checked as Pigeonhole checks them (client_read_string_args: "Missing
// arguments.", "Too many arguments.", "Invalid arguments.", answered as command errors).
import type { Command } from './context.js';
import { commandError } from './managesieve-error.js';
import type { Arg } from './wire.js';

/** Exactly `n` arguments, else a command error. */
export function expectCount(c: Command, min: number, max = min): readonly Arg[] {
  if (c.args.length < min) throw commandError(c.verb, 'Missing arguments.');
  if (c.args.length > max) throw commandError(c.verb, 'Too many arguments.');
  return c.args;
}

/** The argument as a string (quoted or literal), else a command error. */
export function stringArg(c: Command, arg: Arg): string {
  if (arg.kind !== 'string') throw commandError(c.verb, 'Invalid arguments.');
  return arg.bytes.toString('utf8');
}

/** The argument's octets when it is a string, else a command error. */
export function octetsArg(c: Command, arg: Arg): Buffer {
  if (arg.kind !== 'string') throw commandError(c.verb, 'Invalid arguments.');
  return arg.bytes;
}

/** RFC 5804 section 4: number = 1*DIGIT, a 32-bit unsigned number; null when `arg` is not one. */
export function numberArg(arg: Arg): number | null {
  if (arg.kind !== 'atom' || !/^\d{1,10}$/.test(arg.text)) return null;
  const n = Number(arg.text);
  return n <= 0xffffffff ? n : null;
}
