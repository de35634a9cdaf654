// Which runs the pool (run-pool.ts) may make in the calling thread instead of a worker thread: the hop to a
// thread and back (copying the message and the outcome, waking the thread) costs more than running a small
// script on a small message. A run is made here only when its time is bounded by the sizes alone, so that
// sieve.maxCpuTime could never be reached: no :regex (a pattern may backtrack without end), no :matches
// pattern that can backtrack (a "*" anywhere but first or last, or a variable that could bring one), a
// small message (MAX_MESSAGE) and small scripts (MAX_NODES). Sieve has no loops, variables are cut at 4 KB
// (variables.ts), so such a run reads the message a bounded number of times. Everything else goes to a
// worker thread with the limits.
import type { CompiledNode, CompiledScript, CompiledValue } from './compiled.js';

/** The largest message run in the calling thread, in octets. */
export const MAX_MESSAGE = 32 * 1024;
/** The most commands and tests (with the scripts they include) a sequence run in the calling thread has. */
export const MAX_NODES = 500;

/** What a script is, as far as running it here goes; computed once per compiled script. */
const judged = new WeakMap<CompiledScript, { tame: boolean; nodes: number }>();

/** True when the :matches key cannot backtrack: wildcards "*" only at its ends, no variable in it. */
function tameGlob(key: string): boolean {
  if (key.includes('${')) return false;
  let inner = key;
  if (inner.startsWith('*')) inner = inner.slice(1);
  if (inner.endsWith('*') && !inner.endsWith('\\*')) inner = inner.slice(0, -1);
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '\\') i++;
    else if (inner[i] === '*') return false;
  }
  return true;
}

function strings(values: readonly CompiledValue[]): string[] {
  return values.flatMap((v) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : []));
}

function judge(script: CompiledScript): { tame: boolean; nodes: number } {
  let known = judged.get(script);
  if (known) return known;
  let tame = ![script.requires, ...Object.values(script.included).map((i) => i?.requires ?? [])].some((r) => r.includes('regex'));
  let nodes = 0;
  const walk = (list: readonly CompiledNode[]) => {
    for (const n of list) {
      nodes++;
      if (n.tags.match === 'regex' || n.tags.regex === true) tame = false;
      if ((n.tags.match === 'matches' || n.tags.matches === true) && !strings(n.args).every(tameGlob)) tame = false;
      walk(n.tests);
      if (n.block) walk(n.block);
    }
  };
  walk(script.commands);
  for (const inc of Object.values(script.included)) if (inc) walk(inc.commands);
  known = { tame, nodes };
  judged.set(script, known);
  return known;
}

/** Whether the run of `scripts` on a message of `messageSize` octets may be made in the calling thread. */
export function runsInline(scripts: readonly CompiledScript[], messageSize: number): boolean {
  if (messageSize > MAX_MESSAGE) return false;
  let nodes = 0;
  for (const s of scripts) {
    const j = judge(s);
    if (!j.tame) return false;
    nodes += j.nodes;
  }
  return nodes <= MAX_NODES;
}
