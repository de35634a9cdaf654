// runScripts: the scripts of one delivery (site `before` scripts, the user's, site `after` scripts) run in
// sequence as Pigeonhole's multiscript runs them: one result for all; after each script its actions stand,
// and the next script runs only while the message is kept: its implicit keep still in effect or an explicit
// `keep` of its own (a script that files, discards, redirects or rejects ends the sequence; one vacation reply
// per delivery); the implicit keep is done once, at the end. A run-time error or a
// limit reached ends the sequence: the earlier scripts' actions stand and the message is kept in INBOX.
import type { CompiledScript } from './compiled.js';
import { type RunState, runOne, type SieveRunSettings } from './interpret.js';
import { SieveMessage } from './message/sieve-message.js';
import type { SieveAction, SieveOutcome, SieveRunHooks, SieveRunInput } from './outcome.js';
import { SieveResult, SieveRuntimeError } from './result.js';

export type { SieveRunSettings } from './interpret.js';

export async function runScripts(
  scripts: readonly CompiledScript[],
  input: SieveRunInput,
  hooks: SieveRunHooks,
  limits: SieveRunSettings,
): Promise<SieveOutcome> {
  const result = new SieveResult('', limits);
  const state: RunState = {
    input,
    hooks,
    settings: limits,
    result,
    message: new SieveMessage(input.message),
    edited: null,
    remember: [],
    duplicates: new Map(),
    log: [],
    fieldCache: new Map(),
    flags: [],
  };
  let keep = { keep: true, keptExplicitly: false, flags: [] as string[] };
  for (const script of scripts) {
    result.nextScript(script.name);
    const committed = result.actions.length;
    const remembered = state.remember.length;
    const edited = state.edited;
    try {
      keep = await runOne(state, script);
    } catch (e) {
      const text =
        e instanceof SieveRuntimeError ? `${script.name}: line ${e.line}: error: ${e.message}` : `${script.name}: error: ${String(e)}`;
      // the failing script's actions are dropped; the earlier scripts' stand, and the message is kept
      const actions: SieveAction[] = result.actions.slice(0, committed);
      if (!actions.some((a) => a.kind === 'store' && a.mailbox === 'INBOX'))
        actions.push({ kind: 'store', mailbox: 'INBOX', flags: [], create: false, implicit: true });
      return {
        actions,
        remember: state.remember.slice(0, remembered),
        edited,
        error: text,
        log: [...state.log, text],
      };
    }
    if (!keep.keep && !keep.keptExplicitly) break;
  }
  if (keep.keep) result.implicitKeep(keep.flags);
  return { actions: result.actions, remember: state.remember, edited: state.edited, error: null, log: state.log };
}
