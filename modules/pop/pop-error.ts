// Coded errors (RFC 2449 section 8, RFC 3206): handlers throw, the dispatcher renders one line.

export type ResponseCode = 'AUTH' | 'SYS/TEMP' | 'SYS/PERM' | 'IN-USE' | 'LOGIN-DELAY';

export class PopError extends Error {
  constructor(
    readonly code: ResponseCode | null,
    text: string,
    /** A malformed or misplaced command: counts toward the run of bad commands that closes the connection. */
    readonly bad = false,
    /** Close the connection after sending this answer. */
    readonly close = false,
  ) {
    super(text);
  }

  get line(): string {
    return this.code ? `-ERR [${this.code}] ${this.message}` : `-ERR ${this.message}`;
  }
}

/** A command the client should not have sent: unknown, wrong state, wrong arguments. */
export function badCommand(text: string): PopError {
  return new PopError(null, text, true);
}
