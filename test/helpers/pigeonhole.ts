// Pigeonhole's own `sieve-test` (Debian's dovecot-sieve) run on a script and a message, its printed result
// read back into a normalised list of actions, so the differential corpus (test/interop/sieve-pigeonhole.test.ts)
// can hold Postern's decisions against the reference. sieve-test refuses to run as root, so as root it runs as
// `nobody` in a world-readable temporary folder with a minimal dovecot.conf written here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMPLICIT_CAPABILITIES, SIEVE_EXTENSIONS } from '../../sieve/extensions.js';

/** uid and gid of nobody on Debian. */
const NOBODY = 65534;

/**
 * Pigeonhole runs with exactly Postern's extensions (its -x list), so a `require` compiles on one side only where
 * the two differ on purpose: ereject, which Debian's Pigeonhole lacks (README "Where Postern's Sieve differs").
 */
export const CORPUS_EXTENSIONS: readonly string[] = [...SIEVE_EXTENSIONS, ...IMPLICIT_CAPABILITIES].filter((e) => e !== 'ereject');

/** The spamtest/virustest headers the corpus configures (RFC 5235 leaves them to the site). */
export const SPAMTEST = { header: 'X-Spam-Score', pattern: '(-?[0-9]+(\\.[0-9]+)?)', maxValue: 10 };
export const VIRUSTEST = { header: 'X-Virus-Scan', pattern: '([a-z]+)', values: { clean: 1, unknown: 2, suspicious: 4, infected: 5 } };

/** One normalised decision: what a user would notice of a delivery. */
export type NormalAction =
  | { kind: 'store'; mailbox: string; flags: string[] }
  | { kind: 'discard' }
  | { kind: 'redirect'; address: string }
  | { kind: 'reject'; reason: string }
  | { kind: 'vacation'; to: string; subject: string | null };

export interface PigeonholeResult {
  /** The actions, the implicit keep included as a store into INBOX; sorted (see sortActions). */
  actions: NormalAction[];
  /** The compiler's error lines (`NAME: line N: error: ...`) when the script did not compile, else null. */
  compileErrors: string[] | null;
  /** The run failed at run time (or a limit was reached) and Pigeonhole fell back to the implicit keep. */
  runtimeError: boolean;
  /** What sieve-test printed on stdout (its "Performed actions" report). */
  printed: string;
  stderr: string;
}

export interface PigeonholeRun {
  /** The script's text; its name (in error lines) is `name`. */
  script: string | Buffer;
  name: string;
  message: Buffer;
  from: string;
  to: string;
  originalTo?: string;
  /** Folders that exist besides INBOX (mailboxexists; the executed run of vacation cases stores into them). */
  mailboxes?: readonly string[];
  /** Scripts run before this one, in order (sieve_before; sieve-test's -s): `name` is each one's file name. */
  before?: readonly SiteScript[];
  /** Scripts run after this one, in order (sieve_after). */
  after?: readonly SiteScript[];
  /**
   * Also run with -e (actions carried out, nothing leaves the machine): tells whether vacation would really
   * answer (Pigeonhole checks the loop rules of RFC 5230 section 5 only when it executes).
   */
  execute?: boolean;
}

/** A site-wide script of a sequence (Pigeonhole's sieve_before / sieve_after). */
export interface SiteScript {
  name: string;
  script: string | Buffer;
}

export interface Pigeonhole {
  run(input: PigeonholeRun): Promise<PigeonholeResult>;
  stop(): Promise<void>;
}

export function hasSieveTest(): boolean {
  return existsSync('/usr/bin/sieve-test');
}

/** Canonical form of an IMAP flag: system flags (case-insensitive, RFC 9051 2.3.2) as \Seen; keywords as given. */
export function canonicalFlag(flag: string): string {
  if (!flag.startsWith('\\')) return flag;
  const word = flag.slice(1).toLowerCase();
  return `\\${word.charAt(0).toUpperCase()}${word.slice(1)}`;
}

/** INBOX in any case is INBOX (RFC 9051 section 5.1); other names are compared as written. */
export function canonicalMailbox(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

function actionKey(a: NormalAction): string {
  return JSON.stringify(a);
}

/**
 * Actions in the compared form, in a fixed order (what was decided, not the order it is listed in). `discard`
 * is derived: present exactly when the message is stored nowhere, as a user sees it (Pigeonhole lists a discard
 * that an explicit keep or fileinto overrides, RFC 5228 section 4.4; whether an implementation lists it is its own).
 */
export function sortActions(actions: NormalAction[]): NormalAction[] {
  const kept: NormalAction[] = actions.filter((a) => a.kind !== 'discard');
  if (!kept.some((a) => a.kind === 'store')) kept.push({ kind: 'discard' });
  return kept.sort((a, b) => (actionKey(a) < actionKey(b) ? -1 : actionKey(a) > actionKey(b) ? 1 : 0));
}

/** sieve-test prints a reject reason with each control character (CR and LF included) shown as '?'. */
export function printableReason(reason: string): string {
  return reason.replace(/[\x00-\x1f\x7f]/g, '?');
}

/**
 * Reads sieve-test's report (stdout) into actions: "Performed actions:" then "Implicit keep:". With scripts run
 * in sequence (-s), each script's part starts with "## Executing script: NAME" and lists what that script added
 * and the implicit keep as it stands after it: the decision is every part's performed actions and the last
 * part's implicit keep (which lists the keep into the default mailbox as " * keep").
 */
export function parsePrinted(printed: string): NormalAction[] {
  const parts = printed.split(SCRIPT_PART);
  if (parts.length === 1) return parseReport(printed, true);
  const last = parts.length - 1;
  return mergeStores(parts.flatMap((part, i) => parseReport(part, i === last)));
}

const SCRIPT_PART = /^## Executing script: .*$/m;

/**
 * A sequence that failed at run time: the performed actions of the scripts before the failing one (whose part
 * is empty), which a delivery carried out already (Pigeonhole executes each script's result before the next
 * runs); the keep follows. A single script: none.
 */
export function parsePerformedBeforeFailure(printed: string): NormalAction[] {
  const parts = printed.split(SCRIPT_PART);
  return mergeStores(parts.slice(1, -1).flatMap((part) => parseReport(part, false)));
}

/** One store a mailbox (a keep of one script and the implicit keep at the end are one store into INBOX). */
function mergeStores(actions: NormalAction[]): NormalAction[] {
  const out: NormalAction[] = [];
  const stores = new Map<string, Extract<NormalAction, { kind: 'store' }>>();
  for (const a of actions) {
    if (a.kind !== 'store') out.push(a);
    else {
      const prior = stores.get(a.mailbox);
      if (prior) prior.flags = [...new Set([...prior.flags, ...a.flags])].sort();
      else {
        const copy = { ...a, flags: [...a.flags] };
        stores.set(a.mailbox, copy);
        out.push(copy);
      }
    }
  }
  return out;
}

/** One report: its performed actions, and its implicit keep when `withImplicitKeep`. */
function parseReport(printed: string, withImplicitKeep: boolean): NormalAction[] {
  const actions: NormalAction[] = [];
  let implicitKeep = false;
  let current: NormalAction | null = null;
  let inVacationBody = false;
  for (const line of printed.split('\n')) {
    if (inVacationBody) {
      if (line === 'END MESSAGE') inVacationBody = false;
      continue;
    }
    if (line === 'START MESSAGE') {
      inVacationBody = true;
      continue;
    }
    if (line === 'Implicit keep:') implicitKeep = true;
    if (implicitKeep && !withImplicitKeep) break;
    let m = /^ \* store message in folder: (.*)$/.exec(line) ?? (line === ' * keep' ? [line, 'INBOX'] : null);
    if (m) {
      current = { kind: 'store', mailbox: canonicalMailbox(m[1]!), flags: [] };
      actions.push(current);
      continue;
    }
    m = /^ {8}\+ add IMAP flags: (.*)$/.exec(line);
    if (m && current?.kind === 'store') {
      current.flags = [...new Set(m[1]!.split(' ').filter(Boolean).map(canonicalFlag))].sort();
      continue;
    }
    if (line === ' * discard') {
      actions.push({ kind: 'discard' });
      current = null;
      continue;
    }
    m = /^ \* redirect message to: <(.*)>$/.exec(line);
    if (m) {
      actions.push({ kind: 'redirect', address: m[1]! });
      current = null;
      continue;
    }
    m = /^ \* reject message with reason: (.*)$/.exec(line);
    if (m) {
      actions.push({ kind: 'reject', reason: m[1]! });
      current = null;
      continue;
    }
    if (line === ' * send vacation message:') {
      current = { kind: 'vacation', to: '', subject: null };
      actions.push(current);
      continue;
    }
    m = /^ {4}=> subject : (.*)$/.exec(line);
    if (m && current?.kind === 'vacation') current.subject = m[1]!;
  }
  return actions;
}

/** Reads an executed run's log and output: was a vacation reply sent, to whom, with which Subject? */
export function parseExecutedVacation(stdout: string, stderr: string): { to: string; subject: string | null } | null {
  const sent = /vacation action: sent vacation response to <([^>]*)>/.exec(stderr);
  if (!sent) return null;
  // Each outgoing message is printed on stdout, starting with Pigeonhole's X-Sieve header; the reply is the one
  // marked auto-replied (RFC 3834). Its header ends at the first empty line (Subject may fold).
  const chunk = stdout.split(/^(?=X-Sieve: )/m).find((c) => /^Auto-Submitted: auto-replied/im.test(c)) ?? '';
  const reply = chunk.split(/\r?\n\r?\n/)[0] ?? '';
  const headerBlock = reply.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(headerBlock);
  return { to: sent[1]!, subject: subject ? subject[1]!.trim() : null };
}

/** sieve-test refuses root: as root it runs as nobody (uid and gid set by the spawn itself, no runuser). */
function runSieveTest(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const asRoot = process.getuid?.() === 0;
  return new Promise((resolve, reject) => {
    const child = spawn('sieve-test', args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: cwd, USER: 'nobody' } } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Maildir++ folder of a mailbox name (Dovecot's default separator '.'). */
function maildirFolder(root: string, mailbox: string): string {
  return mailbox.toUpperCase() === 'INBOX' ? root : join(root, `.${mailbox.replace(/\//g, '.')}`);
}

async function makeMaildir(root: string, mailboxes: readonly string[]): Promise<void> {
  for (const mailbox of ['INBOX', ...mailboxes]) {
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildirFolder(root, mailbox), sub), { recursive: true });
  }
}

async function handToNobody(path: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { readdir, lchown } = await import('node:fs/promises');
  await chown(path, NOBODY, NOBODY);
  // as `chown -R` does: a symbolic link (\Recent's mark, a Postern lock) is changed itself, never followed
  for (const entry of await readdir(path, { recursive: true })) await lchown(join(path, entry), NOBODY, NOBODY);
}

/**
 * Starts a Pigeonhole harness: `personal` and `global` are folders of .sieve files for include :personal and
 * include :global (copied into the world-readable temporary folder). At most `parallel` sieve-tests run at once.
 */
export async function startPigeonhole(options: { personal?: string; global?: string; parallel?: number } = {}): Promise<Pigeonhole> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-pigeonhole-'));
  await chmod(dir, 0o755);
  const personal = join(dir, 'personal');
  const global = join(dir, 'global');
  await mkdir(personal);
  await mkdir(global);
  if (options.personal) await cp(options.personal, personal, { recursive: true });
  if (options.global) await cp(options.global, global, { recursive: true });
  const config = join(dir, 'dovecot.conf');
  const virusValues = Object.entries(VIRUSTEST.values).map(([text, n]) => `  sieve_virustest_text_value${n} = ${text}`);
  await writeFile(
    config,
    [
      `mail_location = maildir:${join(dir, 'nomail')}`,
      'plugin {',
      `  sieve = file:${personal}`,
      `  sieve_global = ${global}`,
      '  sieve_spamtest_status_type = score',
      `  sieve_spamtest_status_header = ${SPAMTEST.header}: ${SPAMTEST.pattern}`,
      `  sieve_spamtest_max_value = ${SPAMTEST.maxValue}`,
      '  sieve_virustest_status_type = text',
      `  sieve_virustest_status_header = ${VIRUSTEST.header}: ${VIRUSTEST.pattern}`,
      ...virusValues,
      '}',
      '',
    ].join('\n'),
  );
  const { readdir } = await import('node:fs/promises');
  for (const entry of await readdir(dir, { recursive: true })) await chmod(join(dir, entry), 0o755);

  const limit = options.parallel ?? 2;
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async (): Promise<() => void> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    return () => {
      active--;
      waiting.shift()?.();
    };
  };
  let counter = 0;

  async function once(input: PigeonholeRun, execute: boolean) {
    const work = join(dir, `run-${++counter}`);
    await mkdir(work);
    const script = join(work, `${input.name}.sieve`);
    const message = join(work, 'message.eml');
    await writeFile(script, input.script);
    await writeFile(message, input.message);
    // A sequence runs as sieve-test's -s scripts then its main one: every script but the last is a -s one.
    const sequence = [...(input.before ?? []).map((b) => join(work, 'before', `${b.name}.sieve`)), script];
    for (const [dir, list] of [
      ['before', input.before ?? []],
      ['after', input.after ?? []],
    ] as const) {
      if (list.length === 0) continue;
      await mkdir(join(work, dir));
      for (const b of list) await writeFile(join(work, dir, `${b.name}.sieve`), b.script);
    }
    sequence.push(...(input.after ?? []).map((a) => join(work, 'after', `${a.name}.sieve`)));
    const args = ['-c', config, '-x', CORPUS_EXTENSIONS.join(' '), '-f', input.from, '-r', input.to];
    if (input.originalTo) args.push('-a', input.originalTo);
    // The account's folders (mailboxexists reads them; an executed run stores into them). Without them,
    // sieve-test's mail_location is a folder that does not exist: no mailbox exists but INBOX.
    if (execute || (input.mailboxes ?? []).length > 0) {
      const mail = join(work, 'mail');
      await makeMaildir(mail, input.mailboxes ?? []);
      args.push('-l', `maildir:${mail}`);
    }
    if (execute) args.push('-e');
    for (const extra of sequence.slice(0, -1)) args.push('-s', extra);
    args.push(sequence[sequence.length - 1]!, message);
    await chmod(work, 0o777);
    await handToNobody(work);
    const release = await slot();
    try {
      return await runSieveTest(args, work);
    } finally {
      release();
      await rm(work, { recursive: true, force: true });
    }
  }

  return {
    async run(input) {
      const printedRun = await once(input, false);
      // The compiler's lines name the script (or the included script) they are about; sieve-test's own lines do not.
      const errorLine = /^(?!sieve-test[(:])\S+: (line \d+: )?error: /;
      const compileErrors = printedRun.stderr.includes('Fatal: failed to compile sieve script')
        ? printedRun.stderr.split('\n').filter((l) => errorLine.test(l))
        : null;
      if (compileErrors) {
        return { actions: [], compileErrors, runtimeError: false, printed: printedRun.stdout, stderr: printedRun.stderr };
      }
      const runtimeError = /final result: failed; resolved with successful implicit keep/.test(printedRun.stderr);
      let actions = runtimeError
        ? mergeStores([...parsePerformedBeforeFailure(printedRun.stdout), { kind: 'store', mailbox: 'INBOX', flags: [] }])
        : parsePrinted(printedRun.stdout);
      if (input.execute && actions.some((a) => a.kind === 'vacation')) {
        const executed = await once(input, true);
        const sent = parseExecutedVacation(executed.stdout, executed.stderr);
        actions = actions.filter((a) => a.kind !== 'vacation');
        if (sent) actions.push({ kind: 'vacation', ...sent });
      }
      return { actions: sortActions(actions), compileErrors: null, runtimeError, printed: printedRun.stdout, stderr: printedRun.stderr };
    },
    async stop() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One case of the corpus (test/fixtures/sieve-corpus/cases/NAME.sieve, its envelope in leading `# key: value` lines). */
export interface CorpusCase {
  name: string;
  script: Buffer;
  message: Buffer;
  messageName: string;
  from: string;
  to: string;
  originalTo?: string;
  mailboxes: string[];
  /** Site scripts run before and after the case's (`# before: NAME ...`, `# after: NAME ...`, in site/). */
  before: SiteScript[];
  after: SiteScript[];
}

/** The corpus folder: cases/, messages/, personal/ (include :personal), global/ (include :global), site/ (sequences). */
export const CORPUS_DIR = new URL('../fixtures/sieve-corpus/', import.meta.url).pathname;

/** Reads every case; defaults: message plain.eml, from alice@example.org, to bob@example.com. */
export async function loadCorpus(): Promise<CorpusCase[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const names = (await readdir(join(CORPUS_DIR, 'cases'))).filter((n) => n.endsWith('.sieve')).sort();
  const cases: CorpusCase[] = [];
  for (const file of names) {
    const script = await readFile(join(CORPUS_DIR, 'cases', file));
    const options = new Map<string, string>();
    for (const line of script.toString('utf8').split('\n')) {
      const m = /^# ([a-z-]+): (.*)$/.exec(line);
      if (!m) break;
      options.set(m[1]!, m[2]!.trim());
    }
    const messageName = options.get('message') ?? 'plain.eml';
    const from = options.get('from') ?? 'alice@example.org';
    cases.push({
      name: file.slice(0, -'.sieve'.length),
      script,
      message: await readFile(join(CORPUS_DIR, 'messages', messageName)),
      messageName,
      from: from === '<>' ? '' : from,
      to: options.get('to') ?? 'bob@example.com',
      ...(options.has('original-to') ? { originalTo: options.get('original-to')! } : {}),
      mailboxes: (options.get('mailboxes') ?? '').split(/\s+/).filter(Boolean),
      before: await siteScripts(options.get('before')),
      after: await siteScripts(options.get('after')),
    });
  }
  return cases;
}

/** The site scripts a case names (`# before: a b`), read from the corpus's site/ folder. */
async function siteScripts(names: string | undefined): Promise<SiteScript[]> {
  const { readFile } = await import('node:fs/promises');
  const out: SiteScript[] = [];
  for (const name of (names ?? '').split(/\s+/).filter(Boolean))
    out.push({ name, script: await readFile(join(CORPUS_DIR, 'site', `${name}.sieve`)) });
  return out;
}
