// Password hashes as Dovecot's passdb stores them, "{SCHEME}data", so accounts moved from Dovecot keep
// their passwords: SHA512-CRYPT, SHA256-CRYPT ($6$, $5$), BLF-CRYPT ($2y$) and every other crypt(3) method
// through the system's libcrypt (crypt-pool.ts; unixcrypt and bcryptjs where it cannot be loaded),
// ARGON2I and ARGON2ID (@node-rs/argon2), PBKDF2, SSHA, SSHA256, SSHA512, SHA*, PLAIN, CRAM-MD5,
// MD5-CRYPT ($1$), PLAIN-MD5, LDAP-MD5, SMD5 and SCRAM-SHA-1/256, with Dovecot's ".HEX" and ".B64"
// encodings, and bare crypt strings ("$6$...", "$y$..."), which Dovecot's passwd-file reads as CRYPT. CRYPT
// checks by the string's own prefix, as crypt(3) does. Postern's own scrypt hashes are "{SCRYPT}$scrypt$...".
// The read rules follow Dovecot's password_get_scheme() (src/lib-auth/password-scheme.c).
import { createHash, createHmac, pbkdf2 as pbkdf2Cb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as argon2Verify } from '@node-rs/argon2';
import { checkCryptString } from './crypt-pool.js';
import { cramMd5Context, md5Crypt } from './md5-parts.js';

const pbkdf2 = promisify(pbkdf2Cb);

export type Verdict = 'match' | 'mismatch' | 'unsupported' | 'invalid';

type Encoding = 'none' | 'base64' | 'hex';

/** Each scheme's default encoding and, for fixed-length ones, its raw length. */
const SCHEMES: Record<string, { encoding: Encoding; length: number }> = {
  PLAIN: { encoding: 'none', length: 0 },
  CLEAR: { encoding: 'none', length: 0 },
  CLEARTEXT: { encoding: 'none', length: 0 },
  CRYPT: { encoding: 'none', length: 0 },
  'MD5-CRYPT': { encoding: 'none', length: 0 },
  MD5: { encoding: 'none', length: 0 },
  'SHA256-CRYPT': { encoding: 'none', length: 0 },
  'SHA512-CRYPT': { encoding: 'none', length: 0 },
  'BLF-CRYPT': { encoding: 'none', length: 0 },
  ARGON2I: { encoding: 'none', length: 0 },
  ARGON2ID: { encoding: 'none', length: 0 },
  PBKDF2: { encoding: 'none', length: 0 },
  'SCRAM-SHA-1': { encoding: 'none', length: 0 },
  'SCRAM-SHA-256': { encoding: 'none', length: 0 },
  SHA: { encoding: 'base64', length: 20 },
  SHA1: { encoding: 'base64', length: 20 },
  SHA256: { encoding: 'base64', length: 32 },
  SHA512: { encoding: 'base64', length: 64 },
  SSHA: { encoding: 'base64', length: 0 },
  SSHA256: { encoding: 'base64', length: 0 },
  SSHA512: { encoding: 'base64', length: 0 },
  SMD5: { encoding: 'base64', length: 0 },
  'PLAIN-MD5': { encoding: 'hex', length: 16 },
  'LDAP-MD5': { encoding: 'base64', length: 16 },
  'CRAM-MD5': { encoding: 'hex', length: 32 },
  'HMAC-MD5': { encoding: 'hex', length: 32 },
  SCRYPT: { encoding: 'none', length: 0 },
};

export interface StoredPassword {
  /** The scheme in capitals ("SHA512-CRYPT"). */
  scheme: string;
  /** An encoding given with the scheme (".HEX", ".B64"), or null. */
  encoding: Encoding | null;
  data: string;
}

/** Splits a stored password into scheme and data, as Dovecot does; `defaultScheme` for a bare one. */
export function parseStoredPassword(stored: string, defaultScheme = 'CRYPT'): StoredPassword {
  // a bare "$1$salt$hash" is MD5-crypt whatever the default (anything after a third "$" is ignored)
  if (stored.startsWith('$1$') && stored.indexOf('$', 3) !== -1) {
    const third = stored.indexOf('$', stored.indexOf('$', 3) + 1);
    return { scheme: 'MD5-CRYPT', encoding: null, data: third === -1 ? stored : stored.slice(0, third) };
  }
  // Postern's own hashes from before the scheme was written in front of them
  if (stored.startsWith('$scrypt$')) return { scheme: 'SCRYPT', encoding: null, data: stored };
  let scheme = defaultScheme.toUpperCase();
  let data = stored;
  if (stored.startsWith('{') && stored.includes('}')) {
    scheme = stored.slice(1, stored.indexOf('}')).toUpperCase();
    data = stored.slice(stored.indexOf('}') + 1);
  }
  let encoding: Encoding | null = null;
  const dot = scheme.lastIndexOf('.');
  if (dot > 0) {
    const suffix = scheme.slice(dot + 1);
    encoding = suffix === 'HEX' ? 'hex' : suffix === 'B64' || suffix === 'BASE64' ? 'base64' : null;
    if (encoding) scheme = scheme.slice(0, dot); // any other suffix leaves a scheme that does not exist
  }
  return { scheme, encoding, data };
}

/**
 * True when Postern can check passwords stored this way (for the importer's report). Of the crypt(3)
 * methods, yescrypt ($y$, $gy$), scrypt ($7$) and DES are checked by the system's libcrypt only
 * (crypt-pool.ts): Debian's libxcrypt knows them all.
 */
export function supportedScheme(stored: string, defaultScheme = 'CRYPT'): boolean {
  const p = parseStoredPassword(stored, defaultScheme);
  if (!(p.scheme in SCHEMES)) return false;
  if (p.scheme === 'CRYPT') return cryptLike(p.data) && /^(?:\$(?:1|5|6|2[aby]|y|gy|7)\$|[./0-9A-Za-z]{13}$)/.test(p.data);
  return true;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** The raw bytes of an encoded value; null when it is not valid in that encoding. */
function decode(data: string, p: StoredPassword): Buffer | null {
  const info = SCHEMES[p.scheme];
  let encoding = p.encoding ?? info.encoding;
  // Without a suffix, a fixed-length value in hex is told from base64 by its length (as Dovecot guesses).
  if (p.encoding === null && info.length > 0 && data.length === info.length * 2 && /^[0-9a-fA-F]+$/.test(data)) encoding = 'hex';
  let raw: Buffer;
  if (encoding === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(data)) return null;
    raw = Buffer.from(data, 'hex');
  } else if (encoding === 'base64') {
    if (!BASE64.test(data)) return null;
    raw = Buffer.from(data, 'base64');
  } else raw = Buffer.from(data, 'utf8');
  if (info.length > 0 && raw.length !== info.length) return null;
  return raw;
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(algorithm: string, ...parts: Buffer[]): Buffer {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Whether a crypt string is one crypt(3) may know: "$id$..." or a 13-character DES string. */
function cryptLike(data: string): boolean {
  return /^\$[0-9a-z]{1,8}\$[!-~]*$/.test(data) || /^[./0-9A-Za-z]{13}$/.test(data);
}

async function checkCrypt(password: Buffer, data: string): Promise<Verdict> {
  if (!cryptLike(data)) return 'invalid';
  // MD5-CRYPT ($1$) is cheap: checked here, without the pool's round trip
  if (/^\$1\$[^$]{0,8}\$[./A-Za-z0-9]{22}$/.test(data))
    return same(Buffer.from(md5Crypt(password, data)), Buffer.from(data)) ? 'match' : 'mismatch';
  // crypt(3) takes a C string, and the fallback libraries take UTF-8 text: a password with a NUL or one that
  // is not UTF-8 cannot be what was hashed here (crypt would stop at the NUL and check a shorter password)
  const text = password.toString('utf8');
  if (password.includes(0) || !Buffer.from(text, 'utf8').equals(password)) return 'mismatch';
  try {
    return await checkCryptString(text, data);
  } catch {
    return 'invalid';
  }
}

/** H(password || salt) || salt, base64 (SSHA and its kin): any salt length after the digest. */
function checkSalted(password: Buffer, raw: Buffer, algorithm: string, size: number): Verdict {
  if (raw.length <= size) return 'invalid';
  return same(digest(algorithm, password, raw.subarray(size)), raw.subarray(0, size)) ? 'match' : 'mismatch';
}

async function checkPbkdf2(password: Buffer, data: string): Promise<Verdict> {
  // $1$<salt>$<rounds>$<hex of 20 octets>: PBKDF2-HMAC-SHA1, the salt used as text
  const m = /^\$1\$([^$]+)\$(\d{1,8})\$([0-9a-fA-F]{40})$/.exec(data);
  if (!m) return 'invalid';
  const key = await pbkdf2(password, Buffer.from(m[1], 'utf8'), Number(m[2]), 20, 'sha1');
  return same(key, Buffer.from(m[3], 'hex')) ? 'match' : 'mismatch';
}

async function checkScram(password: Buffer, data: string, algorithm: 'sha1' | 'sha256'): Promise<Verdict> {
  // iterations,base64(salt),base64(StoredKey),base64(ServerKey)
  const [iter, salt, storedKey] = data.split(',');
  if (!/^\d{1,7}$/.test(iter ?? '') || !salt || !storedKey) return 'invalid';
  const size = algorithm === 'sha1' ? 20 : 32;
  const salted = await pbkdf2(password, Buffer.from(salt, 'base64'), Number(iter), size, algorithm);
  const clientKey = createHmac(algorithm, salted).update('Client Key').digest();
  return same(digest(algorithm, clientKey), Buffer.from(storedKey, 'base64')) ? 'match' : 'mismatch';
}

async function checkArgon2(password: Buffer, data: string): Promise<Verdict> {
  if (!/^\$argon2i?d?\$/.test(data)) return 'invalid';
  try {
    return (await argon2Verify(data, password)) ? 'match' : 'mismatch';
  } catch {
    return 'invalid';
  }
}

/**
 * Checks `password` against a stored password of any scheme above. Anything but 'match' is a failed
 * sign-in; 'unsupported' and 'invalid' also mean the stored value cannot ever match (the log says so).
 * `scrypt` checks Postern's own hashes (password.ts), passed in to keep one way of doing them.
 */
export async function verifyStored(
  password: string,
  stored: string,
  scrypt: (password: string, hash: string) => Promise<boolean>,
  defaultScheme = 'CRYPT',
): Promise<Verdict> {
  const p = parseStoredPassword(stored, defaultScheme);
  if (!(p.scheme in SCHEMES)) return 'unsupported';
  const pw = Buffer.from(password, 'utf8');
  switch (p.scheme) {
    case 'SCRYPT':
      return (await scrypt(password, p.data)) ? 'match' : 'mismatch';
    case 'PLAIN':
    case 'CLEAR':
    case 'CLEARTEXT': {
      const raw = p.encoding ? decode(p.data, p) : Buffer.from(p.data, 'utf8');
      return raw === null ? 'invalid' : same(pw, raw) ? 'match' : 'mismatch';
    }
    case 'CRYPT':
    case 'MD5-CRYPT':
    case 'SHA256-CRYPT':
    case 'SHA512-CRYPT':
      return checkCrypt(pw, p.data);
    case 'BLF-CRYPT':
      return /^\$2[a-z]\$/.test(p.data) ? checkCrypt(pw, p.data) : 'invalid';
    case 'MD5':
      return p.data.startsWith('$1$') ? checkCrypt(pw, p.data) : verifyStored(password, `{PLAIN-MD5}${p.data}`, scrypt);
    case 'ARGON2I':
    case 'ARGON2ID':
      return checkArgon2(pw, p.data);
    case 'PBKDF2':
      return checkPbkdf2(pw, p.data);
    case 'SCRAM-SHA-1':
      return checkScram(pw, p.data, 'sha1');
    case 'SCRAM-SHA-256':
      return checkScram(pw, p.data, 'sha256');
  }
  const raw = decode(p.data, p);
  if (raw === null) return 'invalid';
  switch (p.scheme) {
    case 'SHA':
    case 'SHA1':
      return same(digest('sha1', pw), raw) ? 'match' : 'mismatch';
    case 'SHA256':
      return same(digest('sha256', pw), raw) ? 'match' : 'mismatch';
    case 'SHA512':
      return same(digest('sha512', pw), raw) ? 'match' : 'mismatch';
    case 'SSHA':
      return checkSalted(pw, raw, 'sha1', 20);
    case 'SSHA256':
      return checkSalted(pw, raw, 'sha256', 32);
    case 'SSHA512':
      return checkSalted(pw, raw, 'sha512', 64);
    case 'SMD5':
      return checkSalted(pw, raw, 'md5', 16);
    case 'PLAIN-MD5':
    case 'LDAP-MD5':
      return same(digest('md5', pw), raw) ? 'match' : 'mismatch';
    case 'CRAM-MD5':
    case 'HMAC-MD5':
      return same(cramMd5Context(pw), raw) ? 'match' : 'mismatch';
  }
  return 'unsupported';
}

/** True when the stored password should be replaced by a new scrypt hash after a correct sign-in. */
export function needsRehash(stored: string): boolean {
  return parseStoredPassword(stored).scheme !== 'SCRYPT';
}
