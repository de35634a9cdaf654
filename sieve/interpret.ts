// The interpreter: one compiled script run against the message into the shared result (result.ts). Commands
// and tests are generators so that the one test that asks the caller (duplicate, RFC 7352) can wait for its
// answer while everything else runs without awaiting.
import { createHash } from 'node:crypto';
import type { CompiledIncluded, CompiledNode, CompiledScript, CompiledValue } from './compiled.js';
import { type Comparator, type MatchSpec, type MatchType, matchAny } from './match.js';
import { type AddressPartName, addressPart, DEFAULT_SUBADDRESS_SEPARATOR, envelopePart } from './message/address-part.js';
import { currentDateParts, type DateZone, dateParts, parseZone } from './message/date-parts.js';
import { isProtectedHeader, isValidHeaderName, withHeaderAdded, withHeaderDeleted } from './message/edit-header.js';
import { type BodyTransform, SieveMessage } from './message/sieve-message.js';
import { spamtestValue, type TestHeaderSettings, virustestValue } from './message/spamtest.js';
import { type VacationParams, vacationReply } from './message/vacation-reply.js';
import type { SieveRunHooks, SieveRunInput } from './outcome.js';
import { type SieveResult, SieveRuntimeError } from './result.js';
import { addrSpec, addressProblem } from './validate.js';
import { applyModifier, assign, expand, type Scope, truncate, type VariableContext } from './variables.js';

/** What a run may be told beyond the contract's limits (all optional; delivery passes its `sieve:` settings). */
export interface SieveRunSettings {
  readonly maxActions: number;
  readonly maxRedirects: number;
  readonly vacationPeriods?: { readonly min: number; readonly default: number; readonly max: number };
  readonly spamtest?: TestHeaderSettings | null;
  readonly virustest?: TestHeaderSettings | null;
  /** recipient_delimiter: the subaddress separator (RFC 5233). */
  readonly subaddressSeparator?: string;
  readonly hostname?: string;
}

/** RFC 7352 section 3: Pigeonhole's sieve_duplicate_default_period and sieve_duplicate_max_period. */
const DUPLICATE_DEFAULT_SECONDS = 14 * 86_400;
const DUPLICATE_MAX_SECONDS = 7 * 86_400;
const DEFAULT_VACATION_PERIODS = { min: 86_400, default: 7 * 86_400, max: 0 };

/** State of one delivery's run shared by the scripts of the sequence. */
export interface RunState {
  readonly input: SieveRunInput;
  readonly hooks: SieveRunHooks;
  readonly settings: SieveRunSettings;
  readonly result: SieveResult;
  message: SieveMessage;
  edited: Buffer | null;
  readonly remember: { key: string; seconds: number }[];
  readonly duplicates: Map<string, boolean>;
  readonly log: string[];
  /** Header values and addresses already read from `message`, by field name (cleared when the header changes). */
  readonly fieldCache: Map<string, readonly string[]>;
  /** RFC 5232 section 3: the internal flags variable; Pigeonhole keeps it from one script of the sequence to the next. */
  flags: string[];
}

/** One top-level script's run: its variables and implicit keep. */
interface ScriptRun {
  readonly state: RunState;
  readonly script: CompiledScript;
  readonly globals: Scope;
  readonly includedOnce: Set<string>;
  /** RFC 5228 section 2.10.2: cancelled by fileinto, redirect, discard, reject, keep (each that adds an action). */
  keep: boolean;
  /** An explicit keep was added by this script. */
  keptExplicitly: boolean;
}

/** One unit (the script or an included one): its own variables scope. */
interface Unit {
  readonly run: ScriptRun;
  readonly caps: ReadonlySet<string>;
  readonly vars: VariableContext & { matches: string[]; globalNames: Set<string> };
}

type Flow = 'next' | 'stop' | 'return';
type Step<T> = Generator<Promise<boolean>, T, boolean>;

/** Runs one script; returns whether its implicit keep stands, and the flags it would carry. */
/**
 * Runs one script of the sequence: `keep`, its implicit keep still stands; `keptExplicitly`, it added a `keep`
 * (either lets the next script of the sequence run, as Pigeonhole's multiscript).
 */
export async function runOne(
  state: RunState,
  script: CompiledScript,
): Promise<{ keep: boolean; keptExplicitly: boolean; flags: string[] }> {
  const run: ScriptRun = { state, script, globals: new Map(), includedOnce: new Set(), keep: true, keptExplicitly: false };
  const gen = runUnit(run, script);
  let r = gen.next();
  while (!r.done) r = gen.next(await r.value);
  return { keep: run.keep, keptExplicitly: run.keptExplicitly, flags: state.flags };
}

function* runUnit(run: ScriptRun, unit: CompiledScript | CompiledIncluded): Step<Flow> {
  const u: Unit = {
    run,
    caps: new Set(unit.requires),
    vars: { local: new Map(), globals: run.globals, globalNames: new Set(), matches: [] },
  };
  return yield* block(u, unit.commands);
}

function* block(u: Unit, commands: readonly CompiledNode[]): Step<Flow> {
  let lastIf: boolean | null = null;
  for (const c of commands) {
    if (c.id === 'if' || c.id === 'elsif' || c.id === 'else') {
      // RFC 5228 section 3.1: elsif and else run only when no earlier branch of the chain did
      if (c.id !== 'if' && lastIf !== false) continue;
      const t = c.tests[0]!;
      const ok = c.id === 'else' ? true : asksCaller(t) ? yield* test(u, t) : testNow(u, t);
      lastIf = ok;
      if (ok) {
        const flow = yield* block(u, c.block ?? []);
        if (flow !== 'next') return flow;
      }
      continue;
    }
    lastIf = null;
    const flow = c.id === 'include' ? yield* include(u, c) : command(u, c);
    if (flow !== 'next') return flow;
  }
  return 'next';
}

const str = (u: Unit, v: CompiledValue | true | undefined): string => (typeof v === 'string' ? expandIn(u, v) : '');
const list = (u: Unit, v: CompiledValue | true | undefined): string[] =>
  Array.isArray(v) ? v.map((s) => expandIn(u, s)) : typeof v === 'string' ? [expandIn(u, v)] : [];
const expandIn = (u: Unit, s: string) => (u.caps.has('variables') ? expand(s, u.vars) : s);

/** RFC 5232 section 3: a flag list as a set, system flags in their usual case, duplicates dropped. */
const SYSTEM_FLAGS: Record<string, string> = {
  '\\seen': '\\Seen',
  '\\answered': '\\Answered',
  '\\flagged': '\\Flagged',
  '\\deleted': '\\Deleted',
  '\\draft': '\\Draft',
};
function flagSet(items: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const item of items)
    for (const f of item.split(/\s+/)) {
      if (f === '') continue;
      const lower = f.toLowerCase();
      if (f.startsWith('\\') && !SYSTEM_FLAGS[lower]) continue; // \Recent and unknown system flags are not set
      if (seen.has(lower)) continue;
      seen.add(lower);
      out.push(SYSTEM_FLAGS[lower] ?? f);
    }
  return out;
}

/** The flags keep/fileinto store with: :flags, else the internal variable (RFC 5232 section 5). */
function storeFlags(u: Unit, c: CompiledNode): string[] {
  if (c.tags.flags !== undefined) return flagSet(list(u, c.tags.flags));
  // the internal variable holds only what imap4flags set, in this script or an earlier one of the sequence
  return [...u.run.state.flags];
}

function command(u: Unit, c: CompiledNode): Flow {
  const run = u.run;
  const state = run.state;
  const result = state.result;
  switch (c.id) {
    case 'keep': // RFC 5228 section 4.3
      if (result.store('INBOX', storeFlags(u, c), false, c.line)) {
        run.keep = false;
        run.keptExplicitly = true;
      }
      return 'next';
    case 'fileinto': {
      // RFC 5228 section 4.1; RFC 3894 :copy; RFC 5490 :create
      const folder = str(u, c.args[0]);
      // the name is checked where it is stored (sieve-test lists any name; a delivery keeps in INBOX when it fails);
      // a folder stored into already (say by a :copy one) adds nothing and leaves the implicit keep, as in Pigeonhole
      if (result.store(folder, storeFlags(u, c), c.tags.create === true, c.line) && c.tags.copy !== true) run.keep = false;
      return 'next';
    }
    case 'redirect': {
      // RFC 5228 section 4.2
      const written = str(u, c.args[0]).trim();
      const problem = addressProblem(written);
      const address = addrSpec(written);
      if (problem) throw new SieveRuntimeError(c.line, `specified redirect address '${written}' is invalid: ${problem}.`);
      if (result.redirect(address, c.line) && c.tags.copy !== true) run.keep = false;
      return 'next';
    }
    case 'discard': // RFC 5228 section 4.4
      result.discard();
      run.keep = false;
      return 'next';
    case 'stop': // RFC 5228 section 3.3
      return 'stop';
    case 'reject':
    case 'ereject': // RFC 5429
      result.rejectWith(str(u, c.args[0]), c.id === 'ereject', c.line);
      run.keep = false;
      return 'next';
    case 'vacation':
      vacation(u, c);
      return 'next';
    case 'set': {
      // RFC 5229 section 4
      let value = str(u, c.args[1]);
      for (const m of (c.tags.modifiers as string[] | undefined) ?? []) value = applyModifier(m, value);
      if (!assign(c.args[0] as string, value, u.vars))
        throw new SieveRuntimeError(c.line, 'the number of variables in the scope exceeds the limit.');
      return 'next';
    }
    case 'setflag':
    case 'addflag':
    case 'removeflag': {
      // RFC 5232 section 4
      const items = flagSet(list(u, c.args[c.args.length - 1]));
      const variable = c.args.length === 2 ? (c.args[0] as string[])[0]! : null;
      const current = variable === null ? state.flags : flagSet([expand(`\${${variable}}`, u.vars)]);
      let next: string[];
      if (c.id === 'setflag') next = items;
      else if (c.id === 'addflag') next = flagSet([...current, ...items]);
      else {
        const drop = new Set(items.map((f) => f.toLowerCase()));
        next = current.filter((f) => !drop.has(f.toLowerCase()));
      }
      if (variable === null) state.flags = next;
      else assign(variable, next.join(' '), u.vars);
      return 'next';
    }
    case 'return': // RFC 6609 section 3.3
      return 'return';
    case 'global': // RFC 6609 section 3.4
      for (const n of c.args[0] as string[]) u.vars.globalNames.add(n.toLowerCase());
      return 'next';
    case 'addheader': {
      // RFC 5293 section 4
      const name = str(u, c.args[0]);
      const value = str(u, c.args[1]);
      if (!isValidHeaderName(name)) throw new SieveRuntimeError(c.line, `addheader action: specified field name \`${name}' is invalid.`);
      if (/[\0]/.test(value)) throw new SieveRuntimeError(c.line, `addheader action: specified value for field \`${name}' is invalid.`);
      // Pigeonhole lets a script add any field, Received and Auto-Submitted included; it protects them from deletion
      setMessage(state, withHeaderAdded(state.message.raw, name, value.replace(/\r?\n/g, ' '), c.tags.last === true));
      return 'next';
    }
    case 'deleteheader': {
      // RFC 5293 section 5
      const name = str(u, c.args[0]);
      if (!isValidHeaderName(name)) throw new SieveRuntimeError(c.line, `deleteheader action: specified field name \`${name}' is invalid.`);
      if (isProtectedHeader(name)) {
        state.log.push(`deleteheader action: deleting specified header field \`${name}' is forbidden; modification denied.`);
        return 'next';
      }
      const patterns = c.args.length > 1 ? list(u, c.args[1]) : null;
      const spec = matchSpec(c);
      const at = typeof c.tags.index === 'number' ? { index: c.tags.index, last: c.tags.last === true } : undefined;
      const r = withHeaderDeleted(state.message.raw, name, (f) => patterns === null || matchAny(spec, [f.value], patterns), at);
      if (r.deleted > 0) setMessage(state, r.message);
      return 'next';
    }
    default:
      throw new SieveRuntimeError(c.line, `unknown command '${c.id}'.`);
  }
}

function setMessage(state: RunState, raw: Buffer): void {
  state.message = new SieveMessage(raw);
  state.fieldCache.clear();
  state.edited = raw;
}

/** RFC 5230 section 4 and RFC 6131: the reply is built (and checked) by the message side. */
function vacation(u: Unit, c: CompiledNode): void {
  const state = u.run.state;
  const t = c.tags;
  const periodSeconds = typeof t.seconds === 'number' ? t.seconds : typeof t.days === 'number' ? Math.max(t.days, 1) * 86_400 : null;
  const params: VacationParams = {
    reason: str(u, c.args[0]),
    subject: t.subject !== undefined ? str(u, t.subject) : null,
    from: t.from !== undefined ? str(u, t.from) : null,
    addresses: list(u, t.addresses),
    mime: t.mime === true,
    handle: t.handle !== undefined ? str(u, t.handle) : null,
    periodSeconds,
  };
  const decision = vacationReply(state.message, params, {
    envelope: state.input.envelope,
    ownAddresses: state.input.ownAddresses,
    now: state.input.now,
    periods: state.settings.vacationPeriods ?? DEFAULT_VACATION_PERIODS,
    hostname: state.settings.hostname,
  });
  if (!decision.send) state.log.push(decision.reason);
  state.result.vacationReply(decision.send ? decision.action : null, c.line);
}

/** RFC 6609 section 3.2: the included script runs with its own variables; `return` ends it, `stop` all. */
function* include(u: Unit, c: CompiledNode): Step<Flow> {
  const name = c.args[0] as string;
  const key = `${c.tags.global === true ? 'global' : 'personal'}:${name}`;
  const inc = u.run.script.included[key];
  if (inc === undefined || inc === null) {
    if (c.tags.optional === true) return 'next';
    throw new SieveRuntimeError(c.line, `included script '${name}' is missing.`);
  }
  if (c.tags.once === true) {
    if (u.run.includedOnce.has(key)) return 'next';
    u.run.includedOnce.add(key);
  }
  const flow = yield* runUnit(u.run, inc);
  return flow === 'stop' ? 'stop' : 'next';
}

/** The comparator when none is named: i;ascii-casemap (RFC 5228 section 2.7.3); Pigeonhole's string test uses i;octet. */
const defaultComparator = (c: CompiledNode): Comparator => (c.id === 'string' ? 'i;octet' : 'i;ascii-casemap');

function matchSpec(c: CompiledNode): MatchSpec {
  return {
    comparator: (typeof c.tags.comparator === 'string' ? c.tags.comparator : defaultComparator(c)) as Comparator,
    match: (typeof c.tags.match === 'string' ? c.tags.match : 'is') as MatchType,
    relation: typeof c.tags.relation === 'string' ? c.tags.relation : null,
  };
}

/** Matches values against keys; on success the match variables are set (RFC 5229 section 3.2). */
function compare(u: Unit, c: CompiledNode, values: readonly string[], keysArg: CompiledValue | undefined): boolean {
  const spec = matchSpec(c);
  const keys = list(u, keysArg);
  const wantsCaptures = u.caps.has('variables') && (spec.match === 'matches' || spec.match === 'regex');
  const captures: string[][] | undefined = wantsCaptures ? [] : undefined;
  const ok = matchAny(spec, values, keys, captures);
  if (ok && captures && captures.length > 0) u.vars.matches = captures[0]!.map((v) => truncate(v));
  return ok;
}

/** RFC 5260 section 4.1 :zone; one that is not "+hhmm"/"-hhmm" is ignored, as Pigeonhole ignores it (a warning at compile time). */
function zoneOf(u: Unit, c: CompiledNode): string | null {
  if (typeof c.tags.zone !== 'string') return null;
  const zone = str(u, c.tags.zone);
  return parseZone(zone) === null ? null : zone;
}

/** A field's decoded values, read once per message. */
function cachedValues(state: RunState, name: string): readonly string[] {
  const key = `header:${name.toLowerCase()}`;
  let v = state.fieldCache.get(key);
  if (!v) {
    v = state.message.headerValues(name);
    state.fieldCache.set(key, v);
  }
  return v;
}

const fieldAt = (c: CompiledNode) => (typeof c.tags.index === 'number' ? { index: c.tags.index, last: c.tags.last === true } : undefined);

/** Whether a test (or one inside it) asks the caller: only those run as generators. */
const asking = new WeakMap<CompiledNode, boolean>();
function asksCaller(c: CompiledNode): boolean {
  let v = asking.get(c);
  if (v === undefined) {
    v = c.id === 'duplicate' || c.tests.some(asksCaller);
    asking.set(c, v);
  }
  return v;
}

/** A test that asks the caller somewhere inside: the combinators walked as generators. */
function* test(u: Unit, c: CompiledNode): Step<boolean> {
  switch (c.id) {
    case 'duplicate':
      return yield* duplicate(u, c);
    case 'not':
      return !(yield* test(u, c.tests[0]!));
    case 'allof':
      for (const t of c.tests) if (!(asksCaller(t) ? yield* test(u, t) : testNow(u, t))) return false;
      return true;
    case 'anyof':
      for (const t of c.tests) if (asksCaller(t) ? yield* test(u, t) : testNow(u, t)) return true;
      return false;
    default:
      return testNow(u, c);
  }
}

/** A test that asks nothing of the caller, evaluated at once. */
function testNow(u: Unit, c: CompiledNode): boolean {
  const state = u.run.state;
  const msg = state.message;
  switch (c.id) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'not':
      return !testNow(u, c.tests[0]!);
    case 'allof': // RFC 5228 section 5.2: stops at the first false
      for (const t of c.tests) if (!testNow(u, t)) return false;
      return true;
    case 'anyof':
      for (const t of c.tests) if (testNow(u, t)) return true;
      return false;
    case 'exists': // RFC 5228 section 5.5
      return list(u, c.args[0]).every((h) => msg.hasHeader(h));
    case 'size': // RFC 5228 section 5.9
      return c.tags.over === true ? msg.size > (c.args[0] as number) : msg.size < (c.args[0] as number);
    case 'header': {
      // RFC 5228 section 5.7
      const at = fieldAt(c);
      const names = list(u, c.args[0]);
      const values = at || names.length !== 1 ? names.flatMap((h) => msg.headerValues(h, { at })) : cachedValues(state, names[0]!);
      return compare(u, c, values, c.args[1]);
    }
    case 'address': {
      // RFC 5228 section 5.1
      const part = (c.tags.addresspart ?? 'all') as AddressPartName;
      const sep = state.settings.subaddressSeparator ?? DEFAULT_SUBADDRESS_SEPARATOR;
      const at = fieldAt(c);
      const values: string[] = [];
      for (const h of list(u, c.args[0])) {
        const key = `${part}:${h.toLowerCase()}`;
        const cached = at ? undefined : state.fieldCache.get(key);
        if (cached) {
          values.push(...cached);
          continue;
        }
        const found: string[] = [];
        for (const a of msg.addresses(h, { at })) {
          const v = addressPart(a, part, sep);
          if (v !== null) found.push(v);
        }
        if (!at) state.fieldCache.set(key, found);
        values.push(...found);
      }
      return compare(u, c, values, c.args[1]);
    }
    case 'envelope': {
      // RFC 5228 section 5.4
      const part = (c.tags.addresspart ?? 'all') as AddressPartName;
      const sep = state.settings.subaddressSeparator ?? DEFAULT_SUBADDRESS_SEPARATOR;
      const env = state.input.envelope;
      const values: string[] = [];
      for (const p of list(u, c.args[0])) {
        const name = p.toLowerCase();
        // Pigeonhole's "to" is the original recipient when the MTA gave one (LMTP's ORCPT)
        const path = name === 'from' ? env.from : name === 'to' ? (env.originalTo ?? env.to) : name === 'auth' ? env.auth : undefined;
        if (path === undefined) continue;
        const v = envelopePart(path, part, sep);
        if (v !== null) values.push(v);
      }
      return compare(u, c, values, c.args[1]);
    }
    case 'string': {
      // RFC 5229 section 5: :count counts the strings that are not empty
      let values = list(u, c.args[0]);
      if (c.tags.match === 'count') values = values.filter((v) => v !== '');
      return compare(u, c, values, c.args[1]);
    }
    case 'hasflag': {
      // RFC 5232 section 4.4
      const flags = c.args.length === 2 ? flagSet((c.args[0] as string[]).map((v) => expand(`\${${v}}`, u.vars))) : u.run.state.flags;
      return compare(u, c, flags, c.args[c.args.length - 1]);
    }
    case 'date': {
      // RFC 5260 section 4
      const given = zoneOf(u, c);
      const zone: DateZone = c.tags.originalzone === true ? { original: true } : given === null ? null : { zone: given };
      const values = dateParts(msg, str(u, c.args[0]), str(u, c.args[1]).toLowerCase(), { zone, at: fieldAt(c) });
      return compare(u, c, values, c.args[2]);
    }
    case 'currentdate': {
      // RFC 5260 section 5
      const v = currentDateParts(state.input.now, str(u, c.args[0]).toLowerCase(), zoneOf(u, c));
      return compare(u, c, v === null ? [] : [v], c.args[1]);
    }
    case 'mailboxexists': {
      // RFC 5490 section 3.1
      const have = new Set(state.input.mailboxes.map((m) => (m.toUpperCase() === 'INBOX' ? 'INBOX' : m)));
      return list(u, c.args[0]).every((m) => have.has(m.toUpperCase() === 'INBOX' ? 'INBOX' : m));
    }
    case 'environment': {
      // RFC 5183 section 4
      const v = state.input.environment[str(u, c.args[0]).toLowerCase()];
      return v === undefined ? false : compare(u, c, [v], c.args[1]);
    }
    case 'spamtest': // RFC 5235 section 3.2
      return compare(u, c, [spamtestValue(msg, state.settings.spamtest ?? null, c.tags.percent === true)], c.args[0]);
    case 'virustest': // RFC 5235 section 3.3
      return compare(u, c, [virustestValue(msg, state.settings.virustest ?? null)], c.args[0]);
    case 'body': {
      // RFC 5173 section 5
      const transform: BodyTransform =
        c.tags.raw === true ? 'raw' : c.tags.content !== undefined ? { content: list(u, c.tags.content) } : 'text';
      return compare(u, c, msg.bodyParts(transform), c.args[0]);
    }
    default:
      throw new SieveRuntimeError(c.line, `unknown test '${c.id}'.`);
  }
}

/** RFC 7352 section 3: whether this id was seen; it is remembered when the delivery succeeds. */
function* duplicate(u: Unit, c: CompiledNode): Step<boolean> {
  const state = u.run.state;
  let id: string | undefined;
  if (typeof c.tags.uniqueid === 'string') id = str(u, c.tags.uniqueid);
  else {
    const header = typeof c.tags.header === 'string' ? str(u, c.tags.header) : 'message-id';
    id = state.message.headerValues(header)[0]?.trim();
  }
  if (id === undefined || id === '') return false;
  const handle = typeof c.tags.handle === 'string' ? str(u, c.tags.handle) : '';
  const key = `duplicate:${createHash('sha256').update(`${handle}\0${id}`).digest('hex')}`;
  const known = state.duplicates.get(key);
  if (known !== undefined) return known;
  const seen = yield state.hooks.seen(key);
  state.duplicates.set(key, seen);
  const requested = typeof c.tags.seconds === 'number' ? c.tags.seconds : DUPLICATE_DEFAULT_SECONDS;
  const seconds = Math.min(requested, DUPLICATE_MAX_SECONDS);
  // without :last a known id keeps its first expiry
  if (!seen || c.tags.last === true) state.remember.push({ key, seconds });
  return seen;
}
