// The POP3 command table: each verb, the states it is allowed in, its arguments and its handler.
// The session looks a verb up here, checks the state and the argument count once, and calls the
// handler; handlers throw PopError for the session to render. (Modelled on dovecot's pop3_commands[].)
import { apop, auth, pass, stls, user } from './auth-commands.js';
import { dele, list, noop, retr, rset, stat, top, uidl } from './mailbox-commands.js';
import type { PopContext, PopState } from './context.js';
import { capa, quit } from './session-commands.js';
import { xtnd } from './xtnd-commands.js';

/** A handler gets the session's narrow context; it throws PopError for the session to render. */
export type Handler = (session: PopContext, args: string[]) => void | Promise<void> | undefined;

export interface Command {
  readonly states: readonly PopState[];
  /** [min, max] space-separated arguments, or 'rest' for the whole rest of the line (PASS). */
  readonly args: readonly [number, number] | 'rest';
  readonly usage: string;
  readonly handler: Handler;
}

const AUTH: readonly PopState[] = ['AUTHORIZATION'];
const TRANS: readonly PopState[] = ['TRANSACTION'];
const ANY: readonly PopState[] = ['AUTHORIZATION', 'TRANSACTION'];

export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  // RFC 1939 section 4 (AUTHORIZATION) and section 7 (USER/PASS)
  ['USER', { states: AUTH, args: [1, 1], usage: 'USER name', handler: user }],
  ['PASS', { states: AUTH, args: 'rest', usage: 'PASS password', handler: pass }],
  ['APOP', { states: AUTH, args: [2, 2], usage: 'APOP name digest', handler: apop }],
  // RFC 5034 (AUTH) and RFC 2595 section 4 (STLS)
  ['AUTH', { states: AUTH, args: [0, 2], usage: 'AUTH [mechanism [initial-response]]', handler: auth }],
  ['STLS', { states: AUTH, args: [0, 0], usage: 'STLS', handler: stls }],
  // RFC 1939 section 5 (TRANSACTION)
  ['STAT', { states: TRANS, args: [0, 0], usage: 'STAT', handler: stat }],
  ['LIST', { states: TRANS, args: [0, 1], usage: 'LIST [message]', handler: list }],
  ['UIDL', { states: TRANS, args: [0, 1], usage: 'UIDL [message]', handler: uidl }],
  ['RETR', { states: TRANS, args: [1, 1], usage: 'RETR message', handler: retr }],
  ['TOP', { states: TRANS, args: [2, 2], usage: 'TOP message lines', handler: top }],
  ['DELE', { states: TRANS, args: [1, 1], usage: 'DELE message', handler: dele }],
  ['RSET', { states: TRANS, args: [0, 0], usage: 'RSET', handler: rset }],
  ['NOOP', { states: TRANS, args: [0, 0], usage: 'NOOP', handler: noop }],
  // XTND XMIT: mail submission (qpopper, CommuniGate)
  ['XTND', { states: TRANS, args: [1, 1], usage: 'XTND XMIT', handler: xtnd }],
  // RFC 1939 section 6 (UPDATE) and RFC 2449 section 5 (CAPA)
  ['QUIT', { states: ANY, args: [0, 0], usage: 'QUIT', handler: quit }],
  ['CAPA', { states: ANY, args: [0, 0], usage: 'CAPA', handler: capa }],
]);
