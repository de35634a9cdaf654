// SASL mechanisms for POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051 section 6.2.2): PLAIN
// (RFC 4616), LOGIN (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195). A mechanism only gathers
// credentials through challenges; the protocol's handler checks them against the account store and
// turns a SaslError into its own answer.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccountStore, SignInResult } from '../accounts/account-store.js';
import type { AccountAddress } from '../accounts/names.js';

/** The client's SASL exchange was malformed (`syntax`: a bad command) or asked for what is refused. */
export class SaslError extends Error {
  constructor(
    readonly syntax: boolean,
    message: string,
  ) {
    super(message);
  }
}

const badCommand = (text: string) => new SaslError(true, text);

export type MechanismName = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';

export type Credentials =
  | { kind: 'password'; login: string; password: string }
  | { kind: 'cram'; login: string; challenge: string; digest: string };

/** Sends one "+ base64" challenge and resolves with the client's decoded answer. */
export type Challenge = (data: Buffer) => Promise<Buffer>;

export interface Mechanism {
  readonly name: MechanismName;
  /** True when the password itself crosses the wire (only offered where cleartext is allowed). */
  readonly cleartext: boolean;
  run(challenge: Challenge, initial: Buffer | null, host: string): Promise<Credentials>;
}

function utf8(b: Buffer): string {
  return b.toString('utf8');
}

const plain: Mechanism = {
  name: 'PLAIN',
  cleartext: true,
  async run(challenge, initial) {
    const message = initial ?? (await challenge(Buffer.alloc(0)));
    const parts = utf8(message).split('\0');
    if (parts.length !== 3 || parts[1] === '') throw badCommand('PLAIN expects authzid NUL authcid NUL password');
    const [authzid, login, password] = parts;
    if (authzid !== '' && authzid.toLowerCase() !== login.toLowerCase()) {
      throw new SaslError(false, 'Signing in as another user (an authorization identity) is not supported');
    }
    return { kind: 'password', login, password };
  },
};

const login: Mechanism = {
  name: 'LOGIN',
  cleartext: true,
  async run(challenge, initial) {
    const user = initial ?? (await challenge(Buffer.from('Username:')));
    const password = await challenge(Buffer.from('Password:'));
    return { kind: 'password', login: utf8(user), password: utf8(password) };
  },
};

const cramMd5: Mechanism = {
  name: 'CRAM-MD5',
  cleartext: false,
  async run(challenge, initial, host) {
    if (initial !== null) throw badCommand('CRAM-MD5 takes no initial response');
    const text = `<${randomBytes(8).toString('hex')}.${Date.now()}@${host}>`;
    const answer = utf8(await challenge(Buffer.from(text)));
    const space = answer.lastIndexOf(' ');
    const digest = answer.slice(space + 1).toLowerCase();
    if (space <= 0 || !/^[0-9a-f]{32}$/.test(digest)) throw badCommand('CRAM-MD5 expects "user digest"');
    return { kind: 'cram', login: answer.slice(0, space), challenge: text, digest };
  },
};

export const MECHANISMS: ReadonlyMap<MechanismName, Mechanism> = new Map([plain, login, cramMd5].map((m) => [m.name, m]));

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a SASL line (RFC 5034 section 4, RFC 9051 section 6.2.2): strict base64, "=" for an empty initial response. */
export function decodeSasl(text: string, initial: boolean): Buffer {
  if (initial && text === '=') return Buffer.alloc(0);
  if (!BASE64.test(text)) throw badCommand('Invalid base64 in the SASL response');
  return Buffer.from(text, 'base64');
}

/** Compares two hexadecimal digests in constant time, whatever their case. */
export function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/** How the account store checks what a mechanism gathered: a password, or a CRAM-MD5 digest of the shared secret. */
export function credentialCheck(
  accounts: AccountStore,
  credentials: Credentials,
): (account: AccountAddress | null) => Promise<SignInResult> {
  return (account) =>
    credentials.kind === 'password'
      ? accounts.signIn(account, credentials.password)
      : accounts.signInWithSecret(account, (secret) =>
          equalHex(createHmac('md5', secret).update(credentials.challenge).digest('hex'), credentials.digest),
        );
}

/** The mechanisms a session may use now: the configured ones, less cleartext ones where passwords may not travel. */
export function offeredMechanisms(configured: readonly MechanismName[], cleartextAllowed: boolean): Mechanism[] {
  return configured.map((n) => MECHANISMS.get(n)!).filter((m) => !m.cleartext || cleartextAllowed);
}

/**
 * The mechanism a client asked for (its name in any case): the mechanism, 'cleartext-refused' when it is
 * configured but may not be used on this connection, or null when it is not offered at all.
 */
export function requestedMechanism(
  requested: string,
  configured: readonly MechanismName[],
  cleartextAllowed: boolean,
): Mechanism | 'cleartext-refused' | null {
  const name = requested.toUpperCase() as MechanismName;
  const mechanism = offeredMechanisms(configured, cleartextAllowed).find((m) => m.name === name);
  if (mechanism) return mechanism;
  return MECHANISMS.get(name)?.cleartext && configured.includes(name) ? 'cleartext-refused' : null;
}

/** How a protocol answers what goes wrong in a SASL exchange. */
export interface SaslAnswers {
  /** The client's exchange was malformed (a bad command). */
  syntax(text: string): Error;
  /** The client asked for what is refused. */
  refused(text: string): Error;
  /** The client answered a challenge with "*". */
  cancelled(): Error;
}

/**
 * Runs `mechanism` (RFC 5034 section 4, RFC 9051 section 6.2.2): the initial response if the client
 * gave one (SASL-IR), then each challenge, which `ask` sends as base64 and answers with the client's
 * next line. Resolves with the credentials gathered, for credentialCheck().
 */
export async function exchange(
  mechanism: Mechanism,
  initialText: string | null,
  host: string,
  ask: (challenge: string) => Promise<string>,
  answers: SaslAnswers,
): Promise<Credentials> {
  try {
    const initial = initialText === null ? null : decodeSasl(initialText, true);
    const challenge = async (data: Buffer): Promise<Buffer> => {
      const line = await ask(data.toString('base64'));
      if (line === '*') throw answers.cancelled();
      return decodeSasl(line, false);
    };
    return await mechanism.run(challenge, initial, host);
  } catch (err) {
    if (err instanceof SaslError) throw err.syntax ? answers.syntax(err.message) : answers.refused(err.message);
    throw err;
  }
}

/** Where passwords may travel unencrypted (pop.cleartextAuth, imap.cleartextAuth). */
export type CleartextPolicy = 'never' | 'loopback' | 'always';

/** True when passwords may cross this connection: TLS, or what the policy allows. */
export function cleartextAllowed(conn: { readonly secure: boolean; readonly loopback: boolean }, policy: CleartextPolicy): boolean {
  return conn.secure || policy === 'always' || (policy === 'loopback' && conn.loopback);
}
