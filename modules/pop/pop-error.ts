// Coded errors (RFC 2449 section 8, RFC 3206): handlers throw, the dispatcher renders one line. The
// line never carries a client's raw octets (a lone CR, a control or 8-bit octet): what an error quotes
// goes through quoteClient, and the whole text through responseText, as IMAP's answers do.
import { responseText } from '../../sessions/client-text.js';

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
    const text = responseText(this.message);
    return this.code ? `-ERR [${this.code}] ${text}` : `-ERR ${text}`;
  }
}

/** A command the client should not have sent: unknown, wrong state, wrong arguments. */
export function badCommand(text: string): PopError {
  return new PopError(null, text, true);
}
