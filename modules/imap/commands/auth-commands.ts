// Signing in: STARTTLS (RFC 9051 section 6.2.1), AUTHENTICATE (6.2.2, SASL-IR RFC 4959) and LOGIN (6.2.3).
// Every failure gets the same NO [AUTHENTICATIONFAILED] after the same time, whatever the reason.
import { credentialCheck, exchange, requestedMechanism, type SaslAnswers } from '../../../sessions/sasl.js';
import type { Command, ImapContext } from '../context.js';
import { bad, type ImapError, no } from '../imap-error.js';
import { quoteClient } from '../../../sessions/client-text.js';

function cleartextRefused(): ImapError {
  return no(
    'Passwords may not be sent unencrypted on this connection; use STARTTLS first, or connect to port 993 (TLS)',
    'PRIVACYREQUIRED',
  );
}

// RFC 9051 section 6.2.1: the tagged OK goes first, then the handshake; what was pipelined is dropped.
export async function starttls(s: ImapContext, c: Command): Promise<null> {
  c.args.end();
  if (s.conn.secure) throw bad('This connection already uses TLS');
  if (!s.conn.canStartTls) throw no('STARTTLS is not available here');
  await s.startTls();
  return null;
}

// RFC 9051 section 6.2.3
export async function login(s: ImapContext, c: Command): Promise<string> {
  c.args.sp();
  const user = c.args.astring('a user name');
  c.args.sp();
  const password = c.args.astring('a password');
  c.args.end();
  if (!s.cleartextAllowed) throw cleartextRefused();
  await s.signIn(user, 'LOGIN', (account) => s.services.accounts.signIn(account, password));
  return `[CAPABILITY ${s.capabilities()}] Logged in`;
}

const SASL_ANSWERS: SaslAnswers = {
  syntax: (text) => bad(text),
  refused: (text) => no(text, 'AUTHORIZATIONFAILED'),
  cancelled: () => bad('Authentication cancelled'),
};

// RFC 9051 section 6.2.2: AUTHENTICATE mechanism [initial-response] (SASL-IR, RFC 4959)
export async function authenticate(s: ImapContext, c: Command): Promise<string> {
  c.args.sp();
  const requested = c.args.atom('a SASL mechanism name').toUpperCase();
  let initialText: string | null = null;
  if (c.args.maybeSp()) initialText = c.args.atom('a base64 initial response');
  c.args.end();
  const mechanism = requestedMechanism(requested, s.settings.saslMechanisms, s.cleartextAllowed);
  if (mechanism === 'cleartext-refused') throw cleartextRefused();
  if (!mechanism) throw no(`Unsupported authentication mechanism ${quoteClient(requested, 20)}; CAPABILITY lists them`);
  const credentials = await exchange(mechanism, initialText, s.settings.hostname, (challenge) => s.continuation(challenge), SASL_ANSWERS);
  await s.signIn(credentials.login, mechanism.name, credentialCheck(s.services.accounts, credentials));
  return `[CAPABILITY ${s.capabilities()}] Logged in`;
}
