// The commands of every state and those that sign in and out: CAPABILITY (RFC 5804 section 2.4), STARTTLS
// (2.2), AUTHENTICATE (2.1, SASL-IR), UNAUTHENTICATE (2.14), NOOP (2.13), LOGOUT (2.3). Every failed sign-in
// gets the same NO "Authentication failed." after the same time, whatever the reason.
import { credentialCheck, exchange, requestedMechanism, type SaslAnswers } from '../../sessions/sasl.js';
import { expectCount, stringArg } from './args.js';
import type { Command, ManageSieveContext } from './context.js';
import { commandError, type ManageSieveError, no } from './managesieve-error.js';
import { quoteString } from './wire.js';

// RFC 5804 section 2.4
export function capability(s: ManageSieveContext, c: Command): void {
  expectCount(c, 0);
  for (const line of s.capabilities()) s.send(line);
  s.send('OK "Capability completed."');
}

// RFC 5804 section 2.13: NOOP [tag]; a tag is echoed in the TAG response code.
export function noop(s: ManageSieveContext, c: Command): void {
  const [tag] = expectCount(c, 0, 1);
  if (!tag) {
    s.send('OK "NOOP Completed"');
    return;
  }
  if (tag.kind !== 'string') throw no('Invalid echo tag.');
  s.send(`OK (TAG ${quoteString(tag.bytes)}) "Done"`);
}

// RFC 5804 section 2.3
export function logout(s: ManageSieveContext, c: Command): void {
  expectCount(c, 0);
  s.close('logout', 'OK "Logout completed."');
}

// RFC 5804 section 2.2: OK, the handshake, then the capabilities again (the client must not trust those it had).
export async function starttls(s: ManageSieveContext, c: Command): Promise<void> {
  expectCount(c, 0);
  if (s.conn.secure) throw no('TLS is already active.');
  if (!s.conn.canStartTls) throw no("TLS support isn't enabled.");
  await s.startTls();
}

/** The answer to a mechanism that would send a password in the clear where it may not travel. */
function cleartextRefused(s: ManageSieveContext): ManageSieveError {
  // ENCRYPT-NEEDED when STARTTLS would let it through here; otherwise the mechanism is too weak for this connection
  return s.conn.canStartTls
    ? no('Plaintext authentication disallowed on non-secure connections; use STARTTLS first.', 'ENCRYPT-NEEDED')
    : no('Plaintext authentication disallowed on non-secure connections.', 'AUTH-TOO-WEAK');
}

const SASL_ANSWERS: SaslAnswers = {
  syntax: (text) => no(text),
  refused: (text) => no(text),
  cancelled: () => no('Authentication aborted by client.'),
};

// RFC 5804 section 2.1: AUTHENTICATE mechanism [initial-response]; challenges and answers are strings, "*" aborts.
export async function authenticate(s: ManageSieveContext, c: Command): Promise<void> {
  const [mechanismArg, initialArg] = expectCount(c, 1, 2);
  const requested = stringArg(c, mechanismArg);
  if (requested === '') throw commandError(c.verb, 'Invalid arguments.');
  const initial = initialArg ? stringArg(c, initialArg) : null;
  const mechanism = requestedMechanism(requested, s.settings.saslMechanisms, s.cleartextAllowed);
  if (mechanism === 'cleartext-refused') throw cleartextRefused(s);
  if (!mechanism) throw no('Unsupported authentication mechanism.');
  const ask = async (challenge: string): Promise<string> => {
    s.send(quoteString(challenge));
    return s.nextSaslResponse();
  };
  // an empty initial response is "=" to the shared exchange (RFC 4959's notation)
  const credentials = await exchange(mechanism, initial === '' ? '=' : initial, s.settings.hostname, ask, SASL_ANSWERS);
  await s.signIn(credentials.login, mechanism.name, credentialCheck(s.services.accounts, credentials));
  s.send('OK "Logged in."');
}

// RFC 5804 section 2.14: back to the non-authenticated state, on the same (perhaps encrypted) connection.
export function unauthenticate(s: ManageSieveContext, c: Command): void {
  expectCount(c, 0);
  s.signOut();
  s.send('OK "Unauthenticate completed."');
}
