// Coded answers (RFC 5804 section 1.3): handlers throw, the session renders one NO (or BYE) line. A malformed
// command is answered as Pigeonhole answers it, "Error in MANAGESIEVE command VERB: ...", and counts toward
// the run of bad commands that closes the connection.
import { answerLine, type ResponseCode } from './wire.js';

export class ManageSieveError extends Error {
  constructor(
    readonly code: ResponseCode | null,
    text: string,
    /** A malformed or misplaced command: counts toward managesieve.maxBadCommands. */
    readonly bad = false,
    /** Close the connection after the answer (sent as BYE). */
    readonly close = false,
  ) {
    super(text);
  }

  get line(): string {
    return answerLine(this.close ? 'BYE' : 'NO', this.code, this.message);
  }
}

/** A command that does not parse or is not allowed now (Pigeonhole's client_send_command_error). */
export function commandError(verb: string, text: string): ManageSieveError {
  return new ManageSieveError(null, verb ? `Error in MANAGESIEVE command ${verb}: ${text}` : `Error in MANAGESIEVE command: ${text}`, true);
}

export function no(text: string, code: ResponseCode | null = null): ManageSieveError {
  return new ManageSieveError(code, text);
}
