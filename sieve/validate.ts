// The validator: a parsed script checked against the signatures (signatures.ts) and its `require`s, turned
// into the plain-data form the interpreter runs (compiled.ts), with Pigeonhole's error and warning wording.
import type { CompiledNode } from './compiled.js';
import { decodeEncodedCharacters } from './encoded-character.js';
import { IMPLICIT_CAPABILITIES, SIEVE_EXTENSIONS } from './extensions.js';
import { DATE_PARTS } from './message/date-parts.js';
import { isProtectedHeader, isValidHeaderName } from './message/edit-header.js';
import type { ParsedCommand, ParsedTest, SieveArgument } from './parser.js';
import { posixToJs } from './regex.js';
import { type ArgType, COMMANDS, type Signature, TESTS } from './signatures.js';

/** RFC 5228 section 2.7.3 and RFC 4790: the comparators and the capability each needs. */
const COMPARATORS: Record<string, string | null> = {
  'i;octet': null,
  'i;ascii-casemap': null,
  'i;ascii-numeric': 'comparator-i;ascii-numeric',
};
const RELATIONS = new Set(['gt', 'ge', 'lt', 'le', 'eq', 'ne']);
const MODIFIER_PRECEDENCE: Record<string, number> = {
  lower: 40,
  upper: 40,
  lowerfirst: 30,
  upperfirst: 30,
  quotewildcard: 20,
  quoteregex: 20,
  length: 10,
};
const ENVELOPE_PARTS = new Set(['from', 'to', 'auth']);
/** The fields the address test reads (RFC 5228 section 5.1 and the address-list fields Pigeonhole allows). */
const ADDRESS_HEADERS = new Set(
  (
    'from to cc bcc sender resent-from resent-to reply-to resent-reply-to resent-sender resent-cc resent-bcc for-approval ' +
    'for-handling for-comment apparently-to errors-to delivered-to return-receipt-to x-admin read-receipt-to ' +
    'x-confirm-reading-to return-receipt-requested registered-mail-reply-requested-by mail-followup-to mail-reply-to ' +
    'abuse-reports-to x-complaints-to x-report-abuse-to x-beenthere'
  ).split(' '),
);
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RFC 5229 section 3: match variables ${0} .. ${N}; Pigeonhole keeps 33. */
export const MAX_MATCH_INDEX = 32;

export interface Diagnostic {
  readonly line: number;
  readonly level: 'error' | 'warning';
  readonly text: string;
}

interface Context {
  readonly caps: Set<string>;
  readonly diagnostics: Diagnostic[];
  readonly reportedOnce: Set<string>;
  readonly includes: { name: string; location: 'personal' | 'global'; once: boolean; optional: boolean; line: number }[];
}

const typeName = (a: SieveArgument | undefined): string =>
  !a ? 'none' : a.kind === 'list' ? 'string list' : a.kind === 'tag' ? 'tag' : a.kind;

const accepts = (want: ArgType, a: SieveArgument) =>
  want === 'number' ? a.kind === 'number' : want === 'string' ? a.kind === 'string' : a.kind === 'string' || a.kind === 'list';

const argValue = (a: SieveArgument): string | number | string[] => a.value;

/** Validates a parsed script; returns its compiled commands and the diagnostics (errors make it unusable). */
export function validateScript(parsed: ParsedCommand[]): {
  commands: CompiledNode[];
  requires: string[];
  diagnostics: Diagnostic[];
  includes: Context['includes'];
} {
  const ctx: Context = { caps: new Set(), diagnostics: [], reportedOnce: new Set(), includes: [] };
  const error = (line: number, text: string) => ctx.diagnostics.push({ line, level: 'error', text });

  // RFC 5228 section 3.2: requires come first, at the top level.
  let atStart = true;
  for (const c of parsed) {
    if (c.id !== 'require') {
      atStart = false;
      continue;
    }
    if (!atStart) continue;
    const a = c.args[0];
    if (c.args.length !== 1 || !a || (a.kind !== 'string' && a.kind !== 'list')) continue;
    for (const cap of a.kind === 'list' ? a.value : [a.value]) {
      if (SIEVE_EXTENSIONS.includes(cap) || IMPLICIT_CAPABILITIES.includes(cap)) {
        ctx.caps.add(cap);
        // RFC 6131 section 2 and RFC 5235 section 3.1: these bring the extension they extend
        if (cap === 'vacation-seconds') ctx.caps.add('vacation');
        if (cap === 'spamtestplus') ctx.caps.add('spamtest');
      } else error(a.line, `require command: unknown Sieve capability \`${cap}'.`);
    }
  }
  const commands = block(parsed, ctx, true);
  return { commands, requires: [...ctx.caps], diagnostics: ctx.diagnostics, includes: ctx.includes };
}

function block(cmds: readonly ParsedCommand[], ctx: Context, top: boolean): CompiledNode[] {
  const out: CompiledNode[] = [];
  let atStart = top;
  let prev: string | null = null;
  for (const c of cmds) {
    if (c.id === 'require') {
      if (!atStart) err(ctx, c.line, 'require commands can only be placed at top level at the beginning of the file.');
      else checkArity(ctx, c, COMMANDS.require!, 'command');
      prev = 'require';
      continue;
    }
    atStart = false;
    if ((c.id === 'elsif' || c.id === 'else') && prev !== 'if' && prev !== 'elsif')
      err(ctx, c.line, `the ${c.id} command must follow an if or elseif command.`);
    const node = command(c, ctx);
    if (node) out.push(node);
    prev = c.id;
  }
  return out;
}

const err = (ctx: Context, line: number, text: string) => {
  if (ctx.diagnostics.filter((d) => d.level === 'error').length < 10) ctx.diagnostics.push({ line, level: 'error', text });
};
const warn = (ctx: Context, line: number, text: string) => ctx.diagnostics.push({ line, level: 'warning', text });

const has = (ctx: Context, ext: string | null) => ext === null || ctx.caps.has(ext);

/** An unknown command or test (or one whose capability was not required): reported once per name. */
function unknown(ctx: Context, kind: 'command' | 'test', c: ParsedTest): null {
  const key = `${kind}:${c.id}`;
  if (!ctx.reportedOnce.has(key)) {
    ctx.reportedOnce.add(key);
    err(ctx, c.line, `unknown ${kind} '${c.id}' (only reported once at first occurrence).`);
  }
  return null;
}

function command(c: ParsedCommand, ctx: Context): CompiledNode | null {
  const sig = COMMANDS[c.id];
  if (!sig || !has(ctx, sig.ext)) return unknown(ctx, 'command', c);
  const node = common(c, sig, 'command', ctx);
  if (!node) return null;
  if (sig.block && c.block === null) err(ctx, c.line, `the ${c.id} command requires a command block, but it is missing.`);
  if (!sig.block && c.block !== null) err(ctx, c.line, `the ${c.id} command does not accept a command block, but one is specified.`);
  if (c.block) node.block = block(c.block, ctx, false);
  specific(node, ctx);
  return node;
}

function testNode(t: ParsedTest, ctx: Context, inList: boolean): CompiledNode | null {
  let sig = TESTS[t.id];
  if (sig && t.id === 'spamtest' && ctx.caps.has('spamtestplus')) sig = { ...sig, ext: 'spamtestplus' };
  if (!sig || !has(ctx, sig.ext)) return unknown(ctx, 'test', t);
  const node = common(t, sig, 'test', ctx, inList);
  if (node) specific(node, ctx);
  return node;
}

/** Tags, positional arguments and sub-tests against the signature. */
function common(c: ParsedTest, sig: Signature, kind: 'command' | 'test', ctx: Context, inList = false): CompiledNode | null {
  const node: CompiledNode = { id: c.id, line: c.line, tags: {}, args: [], tests: [], block: null };
  const seenGroups = new Map<string, string>();
  let ok = true;
  const args = c.args;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a.kind !== 'tag') break;
    const spec = sig.tags[a.value];
    if (!spec || !has(ctx, spec.ext ?? null) || (c.id === 'spamtest' && a.value === 'percent' && !ctx.caps.has('spamtestplus'))) {
      if (c.id === 'spamtest' && a.value === 'percent' && ctx.caps.has('spamtest')) {
        err(ctx, a.line, 'the spamtest test only accepts the :percent argument when the spamtestplus extension is active.');
      } else {
        const key = `tag:${c.id}:${a.value}`;
        if (!ctx.reportedOnce.has(key)) {
          ctx.reportedOnce.add(key);
          err(ctx, a.line, `unknown tagged argument ':${a.value}' for the ${c.id} ${kind} (reported only once at first occurrence).`);
        }
      }
      // Pigeonhole checks nothing more of a command once a tag is unknown
      return null;
    }
    const prior = seenGroups.get(spec.group);
    if (prior !== undefined && spec.group !== 'modifier') {
      if (spec.group === 'location') err(ctx, a.line, "include: cannot use location tags ':personal' and ':global' multiple times.");
      else if (spec.group === spec.group.toUpperCase())
        err(ctx, a.line, `encountered duplicate ${spec.group} argument (:${a.value}) for the ${c.id} ${kind}.`);
      else if (spec.group === 'header' || spec.group === 'uniqueid')
        err(ctx, a.line, `conflicting :header and :uniqueid arguments specified for the ${c.id} ${kind}.`);
      else err(ctx, a.line, `encountered duplicate :${a.value} argument for the ${c.id} ${kind}.`);
      ok = false;
    }
    seenGroups.set(spec.group, a.value);
    if (spec.group === 'uniqueid') seenGroups.set('header', a.value);
    if (spec.group === 'header') seenGroups.set('uniqueid', a.value);
    let value: string | number | string[] | true = true;
    if (spec.param) {
      const p = args[i + 1];
      if (!p || p.kind === 'tag' || !accepts(spec.param, p)) {
        const found = !p ? 'no parameters were found' : `a ${typeName(p)} was found`;
        err(ctx, a.line, `the :${a.value} tag for the ${c.id} ${kind} requires a ${spec.param} as parameter, but ${found}.`);
        return null;
      }
      i++;
      value = spec.param === 'string list' && p.kind === 'string' ? [p.value] : argValue(p);
    }
    if (spec.group === 'modifier') {
      const mods = (node.tags.modifiers as string[] | undefined) ?? [];
      for (const m of mods) {
        if (m === a.value) {
          err(ctx, a.line, `encountered duplicate :${a.value} argument for the ${c.id} ${kind}.`);
          ok = false;
        } else if (MODIFIER_PRECEDENCE[m] === MODIFIER_PRECEDENCE[a.value]) {
          err(ctx, a.line, `modifiers :${m} and :${a.value} specified for the ${c.id} ${kind} conflict having equal precedence.`);
          ok = false;
        }
      }
      node.tags.modifiers = [...mods, a.value];
    } else if (spec.group === 'MATCH-TYPE') {
      node.tags.match = a.value;
      if (value !== true) node.tags.relation = value;
    } else if (spec.group === 'ADDRESS-PART') node.tags.addresspart = a.value;
    else if (spec.group === 'comparator') node.tags.comparator = value;
    else node.tags[a.value] = value;
  }
  // Positional arguments (some commands take an optional first one).
  const positional = args.slice(i);
  let want = sig.positional;
  const flagCommand = ['setflag', 'addflag', 'removeflag', 'hasflag'].includes(c.id);
  if (flagCommand && positional.length >= 2 && !ctx.caps.has('variables')) {
    err(ctx, c.line, `the ${c.id} ${kind} only allows for the specification of a variable name when the variables extension is active.`);
    return null;
  }
  if (flagCommand && positional.length === 2) {
    if (!ctx.caps.has('variables')) {
      err(ctx, c.line, `the ${c.id} ${kind} only allows for the specification of a variable name when the variables extension is active.`);
      return null;
    }
    want = [{ type: 'string list', name: 'variable list' }, ...want.slice(-1)];
  } else if (c.id === 'hasflag' && positional.length === 1) want = want.slice(1);
  else if (c.id === 'deleteheader' && positional.length === 1) want = want.slice(0, 1);
  for (const a of positional) {
    if (a.kind === 'tag') {
      err(ctx, a.line, `the ${c.id} ${kind} expects no more tagged arguments after the positional arguments, but ':${a.value}' was found.`);
      return null;
    }
  }
  if (positional.length !== want.length) {
    err(ctx, c.line, `the ${c.id} ${kind} requires ${want.length} positional argument(s), but ${positional.length} is/are specified.`);
    return null;
  }
  for (const [k, a] of positional.entries()) {
    const w = want[k]!;
    if (!accepts(w.type, a)) {
      err(ctx, a.line, `the ${c.id} ${kind} expects a ${w.type} as argument ${k + 1} (${w.name}), but a ${typeName(a)} was found.`);
      ok = false;
      continue;
    }
    node.args.push(w.type === 'string list' && a.kind === 'string' ? [a.value] : argValue(a));
  }
  // Sub-tests.
  if (sig.subtests === 'one') {
    if (c.testList) err(ctx, c.line, `the ${c.id} ${kind} requires one sub-test, but a list of tests is specified.`);
    else if (c.tests.length === 0) err(ctx, c.line, `the ${c.id} ${kind} requires one sub-test, but none is specified.`);
  } else if (sig.subtests === 'list') {
    if (c.tests.length === 0) err(ctx, c.line, `the ${c.id} ${kind} requires a list of sub-tests, but none is specified.`);
  } else if (c.tests.length > 0) {
    // a test where none belongs: Pigeonhole reads it as a missing ";" unless it sits in a test list
    if (inList) err(ctx, c.line, `the ${c.id} ${kind} accepts no sub-tests, but tests are specified.`);
    else err(ctx, c.line, `missing semicolon ';' after ${c.id} ${kind}.`);
    return null;
  }
  for (const t of c.tests) {
    const sub = testNode(t, ctx, c.testList);
    if (sub) node.tests.push(sub);
  }
  return ok ? node : null;
}

/** The checks particular to one command or test. */
function specific(node: CompiledNode, ctx: Context): void {
  const t = node.tags;
  const where = `${node.id} ${COMMANDS[node.id] ? 'command' : 'test'}`;
  const e = (text: string) => err(ctx, node.line, text);
  if (typeof t.comparator === 'string') {
    const need = COMPARATORS[t.comparator];
    if (need === undefined || (need !== null && !ctx.caps.has(need))) e(`unknown comparator '${t.comparator}'.`);
    else if (t.comparator === 'i;ascii-numeric' && (t.match === 'contains' || t.match === 'matches' || t.match === 'regex'))
      e(`the specified i;ascii-numeric comparator does not support sub-string matching as required by the :${t.match} match type.`);
  }
  if (typeof t.relation === 'string') {
    const rel = t.relation.toLowerCase();
    if (!RELATIONS.has(rel))
      e(
        `the :${t.match} match-type requires a constant string argument being one of "gt", "ge", "lt", "le", "eq" or "ne", but ` +
          `"${t.relation}" was found.`,
      );
    t.relation = rel;
  }
  if (t.last === true && t.index === undefined && node.id !== 'addheader' && node.id !== 'duplicate')
    e(`the :last tag for the ${where} cannot be specified without the :index tag.`);
  if (t.index === 0) e(`the :index tag for the ${where} cannot be zero.`);
  if (t.match === 'regex') {
    const keys = node.args[node.args.length - 1];
    for (const k of Array.isArray(keys) ? keys : []) {
      if (ctx.caps.has('variables') && k.includes('${')) continue;
      const problem = posixToJs(k, false).error;
      if (problem) e(`invalid regular expression '${k}' for regex match: ${problem}.`);
    }
  }
  if (ctx.caps.has('encoded-character')) {
    const fix = (s: string) => {
      const r = decodeEncodedCharacters(s);
      if (r.error) e(r.error);
      return r.value;
    };
    node.args = node.args.map((a) => (typeof a === 'string' ? fix(a) : Array.isArray(a) ? a.map(fix) : a));
    for (const [k, v] of Object.entries(t)) if (typeof v === 'string') t[k] = fix(v);
  }
  if (ctx.caps.has('variables')) for (const s of allStrings(node)) checkVariableRefs(s, ctx, node.line);
  switch (node.id) {
    case 'size':
      if (t.over === undefined && t.under === undefined) e('the size test requires either the :under or the :over tag to be specified.');
      else if (t.over !== undefined && t.under !== undefined)
        e("exactly one of the ':under' or ':over' tags must be specified for the size test, but more were found.");
      break;
    case 'set': {
      const name = node.args[0] as string;
      if (/^[0-9]+$/.test(name)) e('cannot assign to match variable.');
      else if (name.includes('.') && VARIABLE_NAME.test(name.split('.')[0]!))
        e(`referring to variable in unknown namespace '${name.split('.')[0]}'.`);
      else if (!VARIABLE_NAME.test(name)) e(`invalid variable name '${name}'.`);
      const mods = (t.modifiers as string[] | undefined) ?? [];
      t.modifiers = mods.sort((a, b) => MODIFIER_PRECEDENCE[b]! - MODIFIER_PRECEDENCE[a]!);
      break;
    }
    case 'global':
      if (!ctx.caps.has('variables')) e('global command requires that variables extension is active.');
      for (const n of node.args[0] as string[]) if (!VARIABLE_NAME.test(n)) e(`invalid variable identifier '${n}'.`);
      break;
    case 'header':
    case 'exists':
      for (const h of node.args[0] as string[]) {
        if (ctx.caps.has('variables') && h.includes('${')) continue;
        if (!isValidHeaderName(h)) warn(ctx, node.line, `specified header field name '${h}' is invalid.`);
      }
      break;
    case 'address':
      for (const h of node.args[0] as string[]) {
        if (ctx.caps.has('variables') && h.includes('${')) continue;
        if (!ADDRESS_HEADERS.has(h.toLowerCase())) e(`specified header '${h}' is not allowed for the address test.`);
      }
      break;
    case 'envelope':
      for (const p of node.args[0] as string[]) {
        if (ctx.caps.has('variables') && p.includes('${')) continue;
        if (!ENVELOPE_PARTS.has(p.toLowerCase())) e(`specified envelope part '${p}' is not supported by the envelope test.`);
      }
      break;
    case 'date':
    case 'currentdate': {
      const part = node.args[node.id === 'date' ? 1 : 0] as string;
      if (!(DATE_PARTS as readonly string[]).includes(part.toLowerCase()) && !part.includes('${'))
        warn(ctx, node.line, `specified date part \`${part}' is not known.`);
      const zone = t.zone;
      if (typeof zone === 'string' && !zone.includes('${') && !/^[+-]\d{4}$/.test(zone))
        warn(ctx, node.line, `specified :zone argument '${zone}' is not a valid timezone.`);
      break;
    }
    case 'redirect': {
      const a = node.args[0] as string;
      if (!a.includes('${') || !ctx.caps.has('variables')) {
        const problem = addressProblem(a);
        if (problem) e(`specified redirect address '${a}' is invalid: ${problem}.`);
      }
      break;
    }
    case 'vacation':
      if (typeof t.days === 'number' && t.days < 1) warn(ctx, node.line, `specified :days value '${t.days}' is under the minimum.`);
      if (typeof t.seconds === 'number' && t.seconds < 86_400)
        warn(ctx, node.line, `specified :seconds value '${t.seconds}' is under the minimum.`);
      if (typeof t.from === 'string' && !t.from.includes('${') && addressProblem(t.from))
        e(`specified :from address '${t.from}' is invalid for vacation action: ${addressProblem(t.from)}.`);
      break;
    case 'addheader':
    case 'deleteheader': {
      const name = node.args[0] as string;
      if (!(ctx.caps.has('variables') && name.includes('${'))) {
        if (!isValidHeaderName(name)) e(`${node.id} command: specified field name \`${name}' is invalid.`);
        else if (node.id === 'deleteheader' && isProtectedHeader(name))
          warn(
            ctx,
            node.line,
            `deleteheader command: deleting specified header field \`${name}' is forbidden; modification will be denied.`,
          );
      }
      break;
    }
    case 'duplicate':
      break;
    case 'fileinto': {
      const folder = node.args[0] as string;
      if (folder.includes('\ufffd') && !(ctx.caps.has('variables') && folder.includes('${')))
        e(`fileinto command: invalid folder name \`${folder.replace(/\ufffd/g, '?')}' specified: invalid utf-8.`);
      break;
    }
    case 'include': {
      const name = node.args[0] as string;
      if (!/^[^/\0]+$/.test(name) || name === '.' || name === '..') e(`include: invalid script name '${name}'.`);
      else
        ctx.includes.push({
          name,
          location: t.global === true ? 'global' : 'personal',
          once: t.once === true,
          optional: t.optional === true,
          line: node.line,
        });
      break;
    }
  }
}

function* allStrings(node: CompiledNode): Generator<string> {
  for (const a of node.args) {
    if (typeof a === 'string') yield a;
    else if (Array.isArray(a)) yield* a;
  }
  for (const v of Object.values(node.tags)) {
    if (typeof v === 'string') yield v;
    else if (Array.isArray(v)) yield* v;
  }
}

/** RFC 5229 section 3: ${N} must stay within the match variables kept. */
function checkVariableRefs(s: string, ctx: Context, line: number): void {
  if (!s.includes('${')) return;
  for (const m of s.matchAll(/\$\{([0-9]+)\}/g)) {
    const n = Number(m[1]);
    if (n > MAX_MATCH_INDEX) err(ctx, line, `match value index ${n} out of range (max: ${MAX_MATCH_INDEX}).`);
  }
}

/** The addr-spec of an address as written: the part in <> when there is one (a display name before it). */
export function addrSpec(a: string): string {
  const m = /<([^<>]*)>\s*$/.exec(a);
  return (m ? m[1]! : a).trim();
}

/** RFC 5228 section 4.2: a redirect address is an RFC 5322 mailbox; Pigeonhole's wording for the usual faults. */
export function addressProblem(written: string): string | null {
  const a = addrSpec(written);
  const at = a.lastIndexOf('@');
  if (at < 0 || /\s/.test(a.slice(0, at))) return `invalid or lonely local part '${a.split(/\s+/)[0]}' (expecting '@')`;
  if (at === 0) return 'invalid or missing local part';
  if (at === a.length - 1) return 'missing domain';
  if (/[\s<>()[\]\\,;:"]/.test(a.slice(at + 1))) return `invalid domain '${a.slice(at + 1)}'`;
  return null;
}

function checkArity(ctx: Context, c: ParsedCommand, sig: Signature, kind: string): void {
  if (c.args.length !== 1)
    err(
      ctx,
      c.line,
      `the ${c.id} ${kind} requires ${sig.positional.length} positional argument(s), but ${c.args.length} is/are specified.`,
    );
  else if (c.args[0]!.kind !== 'string' && c.args[0]!.kind !== 'list')
    err(ctx, c.line, `the ${c.id} ${kind} accepts a single string or string list argument, but a ${typeName(c.args[0])} was found.`);
}
