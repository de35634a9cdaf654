// The IMAP command table (principle 1: a typed table, not string-built method names): each verb, the
// states it is allowed in (RFC 9051 section 6), its handler, and which untagged updates may follow it.
// FETCH, STORE and SEARCH by message number must never be followed by EXPUNGE responses (RFC 9051
// section 7.5.1), so the numbers the client used stay valid; their UID forms may.
import * as acl from './commands/acl.js';
import { append } from './commands/append.js';
import * as auth from './commands/auth-commands.js';
import { compress } from './commands/compress.js';
import { copy, move } from './commands/copy-move.js';
import { idle } from './commands/idle.js';
import * as quota from './commands/quota.js';
import { list, lsub } from './commands/list.js';
import * as mailboxes from './commands/mailbox-commands.js';
import { getmetadata, setmetadata } from './commands/metadata.js';
import { search } from './commands/search.js';
import { sort } from './commands/sort.js';
import * as selected from './commands/select-commands.js';
import * as session from './commands/session-commands.js';
import { store } from './commands/store.js';
import { thread } from './commands/thread.js';
import type { Command, ImapContext, ImapState } from './context.js';
import { fetch } from './fetch/fetch.js';

export interface CommandSpec {
  readonly states: readonly ImapState[];
  /** Resolves with the tagged OK's text (undefined: "VERB completed"; null: no tagged OK, the handler sent it). */
  readonly handler: (s: ImapContext, c: Command) => Promise<string | undefined | null> | Promise<void> | string | undefined | null | void;
  /** After it, in the selected state: 'all' updates, 'no-expunge' (EXISTS and FETCH only), or 'none'. */
  readonly updates: 'all' | 'no-expunge' | 'none';
  /** True for APPEND: its message literal is streamed by the handler. */
  readonly streamsLiteral?: boolean;
  /** Sync the selected mailbox after it even when nothing signalled a change (NOOP, or a change of our own). */
  readonly forceSync?: boolean;
}

const ANY: ImapState[] = ['not-authenticated', 'authenticated', 'selected'];
const NOT_AUTH: ImapState[] = ['not-authenticated'];
const AUTH: ImapState[] = ['authenticated', 'selected'];
const SELECTED: ImapState[] = ['selected'];

const table: [string, CommandSpec][] = [
  ['CAPABILITY', { states: ANY, handler: session.capability, updates: 'all' }],
  ['NOOP', { forceSync: true, states: ANY, handler: session.noop, updates: 'all' }],
  ['LOGOUT', { states: ANY, handler: session.logout, updates: 'none' }],
  ['ID', { states: ANY, handler: session.id, updates: 'all' }],
  ['STARTTLS', { states: NOT_AUTH, handler: auth.starttls, updates: 'none' }],
  ['LOGIN', { states: NOT_AUTH, handler: auth.login, updates: 'none' }],
  ['AUTHENTICATE', { states: NOT_AUTH, handler: auth.authenticate, updates: 'none' }],
  ['ENABLE', { states: AUTH, handler: session.enable, updates: 'all' }],
  ['SELECT', { states: AUTH, handler: selected.select, updates: 'none' }],
  ['EXAMINE', { states: AUTH, handler: selected.examine, updates: 'none' }],
  ['CREATE', { states: AUTH, handler: mailboxes.create, updates: 'all' }],
  ['DELETE', { states: AUTH, handler: mailboxes.del, updates: 'all' }],
  ['RENAME', { states: AUTH, handler: mailboxes.rename, updates: 'all' }],
  ['SUBSCRIBE', { states: AUTH, handler: mailboxes.subscribe, updates: 'all' }],
  ['UNSUBSCRIBE', { states: AUTH, handler: mailboxes.unsubscribe, updates: 'all' }],
  ['LIST', { states: AUTH, handler: list, updates: 'all' }],
  ['LSUB', { states: AUTH, handler: lsub, updates: 'all' }],
  ['NAMESPACE', { states: AUTH, handler: mailboxes.namespace, updates: 'all' }],
  ['STATUS', { states: AUTH, handler: mailboxes.status, updates: 'all' }],
  ['APPEND', { states: AUTH, handler: append, updates: 'all', streamsLiteral: true, forceSync: true }],
  ['IDLE', { states: AUTH, handler: idle, updates: 'all' }],
  ['GETACL', { states: AUTH, handler: acl.getacl, updates: 'all' }],
  ['SETACL', { states: AUTH, handler: acl.setacl, updates: 'all' }],
  ['DELETEACL', { states: AUTH, handler: acl.deleteacl, updates: 'all' }],
  ['LISTRIGHTS', { states: AUTH, handler: acl.listrights, updates: 'all' }],
  ['MYRIGHTS', { states: AUTH, handler: acl.myrights, updates: 'all' }],
  ['GETQUOTA', { states: AUTH, handler: quota.getquota, updates: 'all' }],
  ['GETQUOTAROOT', { states: AUTH, handler: quota.getquotaroot, updates: 'all' }],
  ['SETQUOTA', { states: AUTH, handler: quota.setquota, updates: 'all' }],
  ['GETMETADATA', { states: AUTH, handler: getmetadata, updates: 'all' }],
  ['SETMETADATA', { states: AUTH, handler: setmetadata, updates: 'all' }],
  ['COMPRESS', { states: AUTH, handler: compress, updates: 'none' }],
  ['CHECK', { forceSync: true, states: SELECTED, handler: session.noop, updates: 'all' }],
  ['CLOSE', { states: SELECTED, handler: selected.close, updates: 'none' }],
  ['UNSELECT', { states: SELECTED, handler: selected.unselect, updates: 'none' }],
  ['EXPUNGE', { forceSync: true, states: SELECTED, handler: selected.expunge, updates: 'all' }],
  ['UID EXPUNGE', { forceSync: true, states: SELECTED, handler: selected.uidExpunge, updates: 'all' }],
  ['SEARCH', { states: SELECTED, handler: search, updates: 'no-expunge' }],
  ['UID SEARCH', { states: SELECTED, handler: search, updates: 'all' }],
  ['SORT', { states: SELECTED, handler: sort, updates: 'no-expunge' }],
  ['UID SORT', { states: SELECTED, handler: sort, updates: 'all' }],
  ['THREAD', { states: SELECTED, handler: thread, updates: 'no-expunge' }],
  ['UID THREAD', { states: SELECTED, handler: thread, updates: 'all' }],
  ['FETCH', { states: SELECTED, handler: fetch, updates: 'no-expunge' }],
  ['UID FETCH', { states: SELECTED, handler: fetch, updates: 'all' }],
  ['STORE', { states: SELECTED, handler: store, updates: 'no-expunge' }],
  ['UID STORE', { states: SELECTED, handler: store, updates: 'all' }],
  ['COPY', { forceSync: true, states: SELECTED, handler: copy, updates: 'all' }],
  ['UID COPY', { forceSync: true, states: SELECTED, handler: copy, updates: 'all' }],
  ['MOVE', { states: SELECTED, handler: move, updates: 'all' }],
  ['UID MOVE', { states: SELECTED, handler: move, updates: 'all' }],
];

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(table);
