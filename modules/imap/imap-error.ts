// Coded answers (RFC 9051 section 7.1, RFC 5530 response codes): handlers throw, the session renders
// one tagged NO or BAD line.

export class ImapError extends Error {
  constructor(
    /** NO: the command was understood and failed; BAD: it was not understood (counts toward maxBadCommands). */
    readonly status: 'NO' | 'BAD',
    /** A response code without brackets ("TRYCREATE", "NONEXISTENT") or null. */
    readonly code: string | null,
    text: string,
  ) {
    super(text);
  }

  get text(): string {
    return this.code ? `[${this.code}] ${this.message}` : this.message;
  }
}

/** A command the client should not have sent as it did: a syntax error, an unknown verb, a wrong state. */
export function bad(text: string, code: string | null = null): ImapError {
  return new ImapError('BAD', code, text);
}

export function no(text: string, code: string | null = null): ImapError {
  return new ImapError('NO', code, text);
}
