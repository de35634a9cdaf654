// The script quotas (sieve.maxScriptSize, sieve.maxScripts, sieve.maxStorage) as Pigeonhole counts them
// (sieve_storage_quota_havespace): the size first, then the other scripts with the new one in place of one of
// its name, answered NO (QUOTA/MAXSIZE), (QUOTA/MAXSCRIPTS) or (QUOTA/MAXSTORAGE) with Pigeonhole's words.
import type { SieveScripts } from '../../store/contract.js';
import type { ManageSieveSettings } from './config.js';
import { type ManageSieveError, no } from './managesieve-error.js';

/** NO (QUOTA/MAXSIZE) when a script of `size` octets is larger than any may be. */
export function checkScriptSize(settings: ManageSieveSettings, size: number): void {
  if (size > settings.maxScriptSize) throw tooLarge(settings);
}

export function tooLarge(settings: ManageSieveSettings): ManageSieveError {
  return no(`Script is too large (max ${settings.maxScriptSize} bytes).`, 'QUOTA/MAXSIZE');
}

/** Throws the quota answer when storing `size` octets as `name` would pass a limit. */
export async function checkRoom(settings: ManageSieveSettings, scripts: SieveScripts, name: string, size: number): Promise<void> {
  checkScriptSize(settings, size);
  if (settings.maxScripts === 0 && settings.maxStorage === 0) return;
  const others = (await scripts.list()).filter((s) => s.name !== name);
  if (settings.maxScripts > 0 && others.length + 1 > settings.maxScripts)
    throw no(`Script count quota exceeded (max ${settings.maxScripts} scripts).`, 'QUOTA/MAXSCRIPTS');
  if (settings.maxStorage > 0 && others.reduce((sum, s) => sum + s.size, size) > settings.maxStorage)
    throw no(`Script storage quota exceeded (max ${settings.maxStorage} bytes).`, 'QUOTA/MAXSTORAGE');
}
