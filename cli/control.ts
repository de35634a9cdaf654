// What postern who and postern kick share: the config (for where the control socket is, and the
// module names), and one question asked of the running server over its control socket
// (server/control-socket.ts), the server's refusals and an absent server turned into exit codes.
import { connect } from 'node:net';
import { LocalDomains, NameError, formatAddress } from '../accounts/names.js';
import { MODULE_TABLE } from '../modules/table.js';
import { controlSocketPath } from '../server/admin-config.js';
import { ConfigError, type LoadedConfig } from '../server/config.js';
import type { ModuleEntry } from '../server/module.js';
import { loadConfigAndModules } from '../server/outside-modules.js';
import { CliError, EXIT } from './exit.js';

/** How long the server may take to answer (its workers and the other nodes answer within 2 s). */
const ANSWER_TIMEOUT_MS = 15_000;

export interface ControlContext {
  readonly config: LoadedConfig;
  readonly modules: readonly ModuleEntry[];
  readonly socket: string;
}

export async function controlContext(configFile: string | undefined): Promise<ControlContext> {
  let loaded: { config: LoadedConfig; modules: readonly ModuleEntry[] };
  try {
    loaded = await loadConfigAndModules(configFile, MODULE_TABLE);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`config error: ${err.message}`, EXIT.config);
    throw err;
  }
  const socket = controlSocketPath(loaded.config);
  if (socket === null)
    throw new CliError('the control socket is off in the config (admin.socket: false); use /admin/who over HTTP', EXIT.unavailable);
  return { ...loaded, socket };
}

/** A --protocol value: the name of a module of this config. */
export function checkProtocol(ctx: ControlContext, protocol: string | undefined): string | undefined {
  if (protocol === undefined) return undefined;
  const names = ctx.modules.map((m) => m.name);
  if (!names.includes(protocol))
    throw new CliError(`--protocol: no module "${protocol}"; the modules are: ${names.join(', ')}`, EXIT.usage);
  return protocol;
}

/** NAME or NAME@DOMAIN, as name@domain (the main domain when none is given). */
export function accountName(ctx: ControlContext, input: string): string {
  try {
    return formatAddress(new LocalDomains(ctx.config.mainDomain, ctx.config.domains).parse(input));
  } catch (err) {
    if (err instanceof NameError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/** Asks the server; its answer (ok: true), or a CliError saying why not. */
export async function askServer<T>(ctx: ControlContext, question: unknown): Promise<T> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect({ path: ctx.socket });
    let got = '';
    socket.setEncoding('utf8');
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => {
      socket.destroy();
      reject(new CliError(`the server did not answer on ${ctx.socket} within ${ANSWER_TIMEOUT_MS / 1000} s`, EXIT.tempFail));
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(question)}\n`));
    socket.on('data', (chunk: string) => {
      got += chunk;
    });
    socket.on('end', () => resolve(got));
    socket.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(ctx, err)));
  });
  let answer: { ok?: boolean; error?: string };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new CliError(`the server's answer on ${ctx.socket} is not one we read (${text.length} octets)`, EXIT.software);
  }
  if (answer.ok !== true) throw new CliError(`the server refused: ${answer.error ?? 'no reason given'}`, EXIT.usage);
  return answer as T;
}

function unreachable(ctx: ControlContext, err: NodeJS.ErrnoException): CliError {
  const where = `${ctx.socket} (${ctx.config.file ? `config ${ctx.config.file}` : 'the embedded default'})`;
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
    return new CliError(`no server answers on the control socket ${where}: is postern serve running with this config?`, EXIT.unavailable);
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return new CliError(`not allowed to open the control socket ${where}: run as the server's user (or root)`, 77);
  return new CliError(`cannot reach the server on ${where}: ${err.code ?? err.message}`, EXIT.unavailable);
}
