// Exit codes (sysexits.h), so that scripts and MTAs can tell failures apart.
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
