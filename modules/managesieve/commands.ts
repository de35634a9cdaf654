// The ManageSieve command table: each verb, the states it is allowed in, where its script literal is (PUTSCRIPT,
// CHECKSCRIPT: bounded by sieve.maxScriptSize, not the command's length) and its handler. The session looks a
// verb up here and checks the state once; handlers throw ManageSieveError for the session to render.
import { authenticate, capability, logout, noop, starttls, unauthenticate } from './auth-commands.js';
import type { Command as ParsedCommand, ManageSieveContext, ManageSieveState } from './context.js';
import { checkscript, deletescript, getscript, havespace, listscripts, putscript, renamescript, setactive } from './script-commands.js';

export type Handler = (s: ManageSieveContext, c: ParsedCommand) => void | Promise<void>;

export interface CommandSpec {
  readonly states: readonly ManageSieveState[];
  /** The argument (0-based) that is the script, when the command carries one. */
  readonly scriptArg?: number;
  readonly handler: Handler;
}

const NONAUTH: readonly ManageSieveState[] = ['NONAUTH'];
const AUTH: readonly ManageSieveState[] = ['AUTH'];
const ANY: readonly ManageSieveState[] = ['NONAUTH', 'AUTH'];

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  // RFC 5804 section 2: commands before signing in
  ['AUTHENTICATE', { states: NONAUTH, handler: authenticate }],
  ['STARTTLS', { states: NONAUTH, handler: starttls }],
  // in every state
  ['CAPABILITY', { states: ANY, handler: capability }],
  ['NOOP', { states: ANY, handler: noop }],
  ['LOGOUT', { states: ANY, handler: logout }],
  // after signing in
  ['UNAUTHENTICATE', { states: AUTH, handler: unauthenticate }],
  ['HAVESPACE', { states: AUTH, handler: havespace }],
  ['PUTSCRIPT', { states: AUTH, scriptArg: 1, handler: putscript }],
  ['CHECKSCRIPT', { states: AUTH, scriptArg: 0, handler: checkscript }],
  ['LISTSCRIPTS', { states: AUTH, handler: listscripts }],
  ['SETACTIVE', { states: AUTH, handler: setactive }],
  ['GETSCRIPT', { states: AUTH, handler: getscript }],
  ['DELETESCRIPT', { states: AUTH, handler: deletescript }],
  ['RENAMESCRIPT', { states: AUTH, handler: renamescript }],
]);
