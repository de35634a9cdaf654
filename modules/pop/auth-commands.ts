// Signing in: USER/PASS and APOP (RFC 1939 section 7), AUTH (RFC 5034) and STLS (RFC 2595).
// Every failure gets the same -ERR [AUTH] after the same work, whatever the reason: an unknown user,
// a wrong password and a disabled account cannot be told apart by a client.
import { createHash } from 'node:crypto';
import { badCommand, PopError } from './pop-error.js';
import {
  credentialCheck,
  equalHex,
  exchange,
  type Mechanism,
  offeredMechanisms as offered,
  requestedMechanism,
  type SaslAnswers,
} from '../../sessions/sasl.js';
import type { PopContext } from './context.js';
import { quoteClient } from '../../sessions/client-text.js';

function cleartextRefused(): PopError {
  return new PopError('AUTH', 'Passwords may not be sent unencrypted on this connection; use STLS first, or connect to port 995 (TLS)');
}

function checkUserPass(s: PopContext): void {
  if (!s.settings.userPass) throw new PopError('AUTH', 'USER/PASS is turned off here; sign in with APOP or AUTH');
  if (!s.cleartextAllowed) throw cleartextRefused();
}

export function user(s: PopContext, [name]: string[]): void {
  checkUserPass(s);
  s.pendingUser = name;
  s.send('+OK Send your password');
}

export async function pass(s: PopContext, [password]: string[]): Promise<void> {
  checkUserPass(s);
  const login = s.pendingUser;
  s.pendingUser = null;
  if (login === null) throw badCommand('Send USER first');
  await s.signIn(login, 'USER', (account) => s.services.accounts.signIn(account, password));
}

// RFC 1939 section 7: APOP name digest, digest = MD5(greeting timestamp + shared secret).
export async function apop(s: PopContext, [login, digest]: string[]): Promise<void> {
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) throw badCommand('APOP expects a 32-digit hexadecimal digest');
  s.pendingUser = null;
  await s.signIn(login, 'APOP', (account) =>
    s.services.accounts.signInWithSecret(account, (secret) =>
      equalHex(
        createHash('md5')
          .update(s.greetingStamp + secret)
          .digest('hex'),
        digest,
      ),
    ),
  );
}

/** The SASL mechanisms this session may use now: the configured ones, less cleartext ones where not allowed. */
export function offeredMechanisms(s: PopContext): Mechanism[] {
  return offered(s.settings.saslMechanisms, s.cleartextAllowed);
}

const SASL_ANSWERS: SaslAnswers = {
  syntax: (text) => badCommand(text),
  refused: (text) => new PopError('AUTH', text),
  cancelled: () => new PopError(null, 'Authentication cancelled'),
};

// RFC 5034: AUTH mechanism [initial-response]. A bare AUTH lists the mechanisms (CommuniGate, Outlook).
export async function auth(s: PopContext, args: string[]): Promise<void> {
  s.pendingUser = null;
  if (args.length === 0) {
    s.send('+OK Supported authentication mechanisms follow');
    s.sendBody(
      offeredMechanisms(s)
        .map((m) => `${m.name}\r\n`)
        .join(''),
    );
    return;
  }
  const mechanism = requestedMechanism(args[0], s.settings.saslMechanisms, s.cleartextAllowed);
  if (mechanism === 'cleartext-refused') throw cleartextRefused();
  if (!mechanism) throw new PopError(null, `Unsupported authentication mechanism ${quoteClient(args[0], 20)}; AUTH alone lists them`);
  const ask = async (challenge: string): Promise<string> => {
    s.send(`+ ${challenge}`);
    return s.nextLine();
  };
  const credentials = await exchange(mechanism, args.length > 1 ? args[1] : null, s.settings.hostname, ask, SASL_ANSWERS);
  await s.signIn(credentials.login, mechanism.name, credentialCheck(s.services.accounts, credentials));
}

// RFC 2595 section 4: STLS, only in AUTHORIZATION and only once.
export async function stls(s: PopContext): Promise<void> {
  if (s.conn.secure) throw badCommand('This connection already uses TLS');
  if (!s.conn.canStartTls) throw new PopError(null, 'STLS is not available here');
  await s.startTls();
}
