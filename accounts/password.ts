// Password hashes: scrypt in a PHC-style string, "$scrypt$ln=14,r=8,p=1$<salt>$<hash>" (base64).
// The password itself is never stored or logged.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const DEFAULT_LOG_N = 14; // N = 16384: about 16 MiB and a few tens of milliseconds per check

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function options(logN: number, r: number, p: number): ScryptOptions {
  return { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 2 ** 20 };
}

export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, options(logN, 8, 1));
  return `$scrypt$ln=${logN},r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** True when `password` matches `stored`. A malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PHC.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5], 'base64');
  const key = await scrypt(password, Buffer.from(m[4], 'base64'), options(Number(m[1]), Number(m[2]), Number(m[3])));
  return expected.length === key.length && timingSafeEqual(expected, key);
}

/**
 * A well-formed hash of the default cost that no password matches (its key is random bytes): checking a
 * password against it costs what checking a real one does, without computing a hash to make it.
 */
export function unmatchableHash(logN = DEFAULT_LOG_N): string {
  return `$scrypt$ln=${logN},r=8,p=1$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same time as checking a real password, for a user who does not exist, so that
 * the answer's timing does not tell an attacker which names are accounts.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('postern-dummy-password');
  await verifyPassword(password, await dummy);
  return false;
}
