// Exit codes (sysexits.h), so that scripts and MTAs can tell failures apart.
import { MailError, MailStoreError } from '../store/contract.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64, // EX_USAGE: the command line is wrong
  dataErr: 65, // EX_DATAERR: the input is not usable (an empty message)
  noUser: 67, // EX_NOUSER: no such account (deliver)
  unavailable: 69, // EX_UNAVAILABLE: a port cannot be bound
  cantCreate: 73, // EX_CANTCREAT: deliver: the account is over its quota (75 with quota.fullTempfail)
  software: 70, // EX_SOFTWARE
  tempFail: 75, // EX_TEMPFAIL: try again later (deliver: disk full, I/O error)
  config: 78, // EX_CONFIG: the config file is wrong
} as const;

/** An error the command line reports as one line on stderr and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

type ErrorClass = new (...args: never[]) => Error;

/** Runs a command's action, turning the listed error classes into one-line CliErrors with exit codes. */
export async function withExitCodes(action: () => Promise<void>, codes: readonly (readonly [ErrorClass, number])[]): Promise<void> {
  try {
    await action();
  } catch (err) {
    const match = codes.find(([kind]) => err instanceof kind);
    if (match) throw new CliError((err as Error).message, match[1]);
    throw err;
  }
}

/**
 * The exit code of each store failure, the same for every command that reaches the store (postern mailbox,
 * postern sieve), reported in the store's words as one line on stderr: a name nothing can have is a usage
 * error; a missing mailbox or script, one that exists already, a refused change (deleting INBOX or the active
 * script): 1; a lock held too long (a dotlock another program keeps): 75, try again later; storage the store
 * refuses to use (a folder that is a link): 69, the operator must fix it. null: a fault of the system, which
 * main.ts reports with its errno (a full disk: 75) or as a bug (70).
 */
export const STORE_EXIT: Readonly<Record<MailError, number | null>> = {
  [MailError.PARAMS]: EXIT.usage,
  [MailError.LIMIT]: EXIT.usage,
  [MailError.NOTFOUND]: EXIT.failure,
  [MailError.EXISTS]: EXIT.failure,
  [MailError.NOTPOSSIBLE]: EXIT.failure,
  [MailError.TEMP]: EXIT.tempFail,
  [MailError.UNAVAILABLE]: EXIT.unavailable,
  [MailError.EXPUNGED]: null,
  [MailError.INVALIDDATA]: null,
  [MailError.NOQUOTA]: null,
};

/** withExitCodes for a command that reaches the store: its refusals exit with STORE_EXIT's codes, the listed classes with theirs. */
export async function withStoreExitCodes(
  action: () => Promise<void>,
  codes: readonly (readonly [ErrorClass, number])[] = [],
): Promise<void> {
  await withExitCodes(async () => {
    try {
      await action();
    } catch (err) {
      const exit = err instanceof MailStoreError ? STORE_EXIT[err.mailError] : null;
      if (exit !== null) throw new CliError((err as Error).message, exit);
      throw err;
    }
  }, codes);
}
