// One place that turns what the store's scripts throw (store/contract.ts SieveScripts, by its MailError code)
// into ManageSieve answers (RFC 5804 section 1.3 response codes, Pigeonhole's words), and logs the faults.
import { MailError, mailErrorOf } from '../../store/contract.js';
import type { ManageSieveContext } from './context.js';
import { ManageSieveError, no } from './managesieve-error.js';
import { shownName } from './wire.js';

/** Runs `op`; a store failure becomes its answer (`name`: the script it was about). */
export async function storeFailure<T>(s: ManageSieveContext, verb: string, op: () => Promise<T>, name?: string): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ManageSieveError) throw err;
    switch (mailErrorOf(err)) {
      case MailError.NOTFOUND:
        throw no(`Sieve script \`${shownName(name ?? '')}' not found`, 'NONEXISTENT');
      case MailError.EXISTS:
        throw no('A sieve script with that name already exists.', 'ALREADYEXISTS');
      case MailError.NOTPOSSIBLE:
        throw no('Cannot delete the active Sieve script.', 'ACTIVE');
      case MailError.PARAMS:
      case MailError.LIMIT:
        throw no(`Invalid script name \`${shownName(name ?? '')}'.`);
      case MailError.NOQUOTA:
        throw no('Not enough disk space to store the script.', 'QUOTA');
      default:
        s.log.error({ err, command: verb, user: s.signedIn().user }, 'script storage failed');
        throw no('Internal error occurred. Refer to server log for more information.', 'TRYLATER');
    }
  }
}
