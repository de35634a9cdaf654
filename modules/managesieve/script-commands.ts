// The commands on a signed-in user's scripts (RFC 5804 sections 2.5-2.12): HAVESPACE, PUTSCRIPT, CHECKSCRIPT,
// LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT, with Pigeonhole's answers. A script is
// compiled before it is stored or activated; one that does not compile is refused with the compiler's lines.
import { isSieveScriptName } from '../../store/contract.js';
import { expectCount, numberArg, octetsArg, stringArg } from './args.js';
import { asText, compileForClient } from './compile.js';
import type { Command, ManageSieveContext } from './context.js';
import { commandError, no } from './managesieve-error.js';
import { checkRoom } from './quota.js';
import { storeFailure } from './store-errors.js';
import { quoteString, shownName } from './wire.js';

/** A script name argument, refused with `words` ("Invalid script name `x'.") when no script can have it. */
function scriptName(c: Command, index: number, words = 'Invalid script name'): string {
  const name = stringArg(c, c.args[index]);
  if (!isSieveScriptName(name)) throw no(`${words} \`${shownName(name)}'.`);
  return name;
}

// RFC 5804 section 2.5
export async function havespace(s: ManageSieveContext, c: Command): Promise<void> {
  const [nameArg, sizeArg] = expectCount(c, 2);
  if (nameArg.kind !== 'string') throw no('Invalid string for scriptname.');
  const size = numberArg(sizeArg);
  if (size === null) throw no('Invalid scriptsize argument.');
  const name = nameArg.bytes.toString('utf8');
  if (!isSieveScriptName(name)) throw no('Invalid script name.');
  if (size === 0) throw no('Cannot upload empty script.');
  await storeFailure(s, 'HAVESPACE', () => checkRoom(s.settings, s.signedIn().scripts, name, size));
  s.send('OK "Putscript would succeed."');
}

/** PUTSCRIPT's and CHECKSCRIPT's arguments: Pigeonhole answers these counts in its own words. */
function scriptArgs(c: Command, count: number): void {
  if (c.args.length > count) throw commandError(c.verb, 'Too many command arguments.');
  if (c.args.length < count || c.args.some((a) => a.kind !== 'string')) throw commandError(c.verb, 'Invalid arguments.');
}

/** The compiled script's answer: OK, or OK (WARNINGS) with the compiler's warnings; NO with its errors. */
async function compiledOrRefused(s: ManageSieveContext, c: Command, script: Buffer, name: string | null, upload: boolean) {
  const user = s.signedIn();
  const compiled = await compileForClient(
    { scripts: user.scripts, globalDir: s.settings.globalDir, limits: s.settings.compileLimits },
    script,
    name,
    upload,
  );
  if (!compiled.ok) {
    s.services.metrics.scripts.inc({ command: c.verb, result: 'refused' });
    throw no(asText(compiled.messages));
  }
  return compiled.warnings;
}

function completed(s: ManageSieveContext, warnings: readonly string[], text: string): void {
  s.send(warnings.length > 0 ? `OK (WARNINGS) ${quoteString(asText(warnings), true)}` : `OK ${quoteString(text)}`);
}

// RFC 5804 section 2.6: PUTSCRIPT name script; compiled, then stored (the active one stays active).
export async function putscript(s: ManageSieveContext, c: Command): Promise<void> {
  scriptArgs(c, 2);
  const name = scriptName(c, 0, 'Invalid Sieve script name');
  const script = octetsArg(c, c.args[1]);
  const user = s.signedIn();
  await storeFailure(s, 'PUTSCRIPT', () => checkRoom(s.settings, user.scripts, name, script.length));
  const warnings = await compiledOrRefused(s, c, script, name, true);
  await storeFailure(s, 'PUTSCRIPT', () => user.scripts.put(name, script), name);
  s.stats.putCount += 1;
  s.stats.putBytes += script.length;
  s.services.metrics.scripts.inc({ command: c.verb, result: 'stored' });
  s.log.info({ user: user.user, script: name, octets: script.length }, 'script stored');
  completed(s, warnings, 'PUTSCRIPT completed.');
}

// RFC 5804 section 2.12: CHECKSCRIPT script; compiled, never stored.
export async function checkscript(s: ManageSieveContext, c: Command): Promise<void> {
  scriptArgs(c, 1);
  const script = octetsArg(c, c.args[0]);
  if (script.length > s.settings.maxScriptSize) throw no(`Script is too large (max ${s.settings.maxScriptSize} bytes).`, 'QUOTA/MAXSIZE');
  const warnings = await compiledOrRefused(s, c, script, null, true);
  s.stats.checkCount += 1;
  s.stats.checkBytes += script.length;
  s.services.metrics.scripts.inc({ command: c.verb, result: 'checked' });
  completed(s, warnings, 'Script checked successfully.');
}

// RFC 5804 section 2.7
export async function listscripts(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 0);
  const list = await storeFailure(s, 'LISTSCRIPTS', () => s.signedIn().scripts.list());
  for (const script of list) s.send(script.active ? `${quoteString(script.name)} ACTIVE` : quoteString(script.name));
  s.send('OK "Listscripts completed."');
}

// RFC 5804 section 2.8: SETACTIVE name; "" deactivates. A script is compiled again as it is activated.
export async function setactive(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 1);
  const name = stringArg(c, c.args[0]);
  const scripts = s.signedIn().scripts;
  if (name === '') {
    const active = await storeFailure(s, 'SETACTIVE', () => scripts.active());
    if (active) await storeFailure(s, 'SETACTIVE', () => scripts.setActive(null));
    s.send(active ? 'OK "Active script is now deactivated."' : 'OK "No scripts currently active."');
    return;
  }
  if (!isSieveScriptName(name)) throw no(`Invalid script name \`${shownName(name)}'.`);
  const list = await storeFailure(s, 'SETACTIVE', () => scripts.list());
  const entry = list.find((e) => e.name === name);
  if (!entry) throw notFound(name);
  let warnings: readonly string[] = [];
  if (!entry.active) {
    const content = await storeFailure(s, 'SETACTIVE', () => scripts.get(name), name);
    if (content === null) throw notFound(name);
    warnings = await compiledOrRefused(s, c, content, name, false);
  }
  await storeFailure(s, 'SETACTIVE', () => scripts.setActive(name), name);
  s.log.info({ user: s.signedIn().user, script: name }, 'script activated');
  completed(s, warnings, entry.active ? 'Script is already active.' : 'Setactive completed.');
}

// RFC 5804 section 2.9: the script as a literal.
export async function getscript(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 1);
  const name = scriptName(c, 0);
  const content = await storeFailure(s, 'GETSCRIPT', () => s.signedIn().scripts.get(name), name);
  if (content === null) throw notFound(name);
  s.stats.getCount += 1;
  s.stats.getBytes += content.length;
  s.sendRaw(`{${content.length}}\r\n`, `[script ${name}: ${content.length} octets]`);
  s.sendRaw(content, '');
  s.send('');
  s.send('OK "Getscript completed."');
}

// RFC 5804 section 2.10: not the active script (NO (ACTIVE)).
export async function deletescript(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 1);
  const name = scriptName(c, 0);
  await storeFailure(s, 'DELETESCRIPT', () => s.signedIn().scripts.delete(name), name);
  s.stats.deletedCount += 1;
  s.log.info({ user: s.signedIn().user, script: name }, 'script deleted');
  s.send('OK "Deletescript completed."');
}

// RFC 5804 section 2.11: the active script stays active under its new name.
export async function renamescript(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 2);
  const from = scriptName(c, 0);
  const to = scriptName(c, 1);
  const scripts = s.signedIn().scripts;
  if (from === to) {
    const exists = (await storeFailure(s, 'RENAMESCRIPT', () => scripts.list())).some((e) => e.name === from);
    throw exists ? no('A sieve script with that name already exists.', 'ALREADYEXISTS') : notFound(from);
  }
  await storeFailure(s, 'RENAMESCRIPT', () => scripts.rename(from, to), from);
  s.stats.renamedCount += 1;
  s.log.info({ user: s.signedIn().user, script: from, to }, 'script renamed');
  s.send('OK "Renamescript completed."');
}

function notFound(name: string) {
  return no(`Sieve script \`${shownName(name)}' not found`, 'NONEXISTENT');
}
