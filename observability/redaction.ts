// What the protocol log and the trace (log.trace) record of a command line the server did not
// recognise (its tag or verb did not parse, or the verb is unknown): its size only. Such a line may be
// anything, a password above all: the SASL answer a client sends after its AUTHENTICATE or AUTH was
// refused or cancelled, a literal's octets after a line refused as too long, "UID LOGIN user password".
// Shared by the POP and IMAP modules.

export function unrecognisedCommand(octets: number): string {
  return `[unrecognised command, ${octets} octets, not logged]`;
}
