// crypt(3) strings checked by the system's libcrypt (accounts/crypt-pool.ts, through koffi): the hashes a
// Debian site holds — made by Dovecot's `doveadm pw` and by the system's own crypt (Python's crypt module
// calls libxcrypt) — sign in with the right password and only with it. Yescrypt ($y$, Debian's default for
// /etc/shadow) is known only to libcrypt: without it Postern answered 'unsupported'.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { supportedScheme, verifyStored } from '../../accounts/password-schemes.js';

const noScrypt = async () => false;

function doveadmPw(scheme: string, password: string): string {
  return execFileSync('doveadm', ['pw', '-s', scheme, '-p', password], { encoding: 'utf8' }).trim();
}

function systemCrypt(password: string, setting: string): string {
  const script = 'import crypt, sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))';
  return execFileSync('python3', ['-W', 'ignore', '-c', script, password, setting], { encoding: 'utf8' }).trim();
}

describe('crypt(3) strings through the system libcrypt', () => {
  it("Dovecot's SHA512-CRYPT, SHA256-CRYPT and BLF-CRYPT hashes match their password only", async () => {
    for (const scheme of ['SHA512-CRYPT', 'SHA256-CRYPT', 'BLF-CRYPT']) {
      const stored = doveadmPw(scheme, 'pässwörd');
      expect(await verifyStored('pässwörd', stored, noScrypt), scheme).toBe('match');
      expect(await verifyStored('passwörd', stored, noScrypt), scheme).toBe('mismatch');
      expect(await verifyStored('pässwörd ', stored, noScrypt), scheme).toBe('mismatch');
    }
  });

  it('yescrypt ($y$), as Debian writes /etc/shadow, and a bare one read as CRYPT', async () => {
    const stored = systemCrypt('pässwörd', '$y$j9T$8Jt4FJ0SWqCJ8mL4vMdxQ.');
    expect(stored).toMatch(/^\$y\$j9T\$/);
    expect(await verifyStored('pässwörd', `{CRYPT}${stored}`, noScrypt)).toBe('match');
    expect(await verifyStored('pässwörd', stored, noScrypt)).toBe('match');
    expect(await verifyStored('Pässwörd', stored, noScrypt)).toBe('mismatch');
    expect(supportedScheme(stored)).toBe(true);
  });

  it('a password with a NUL never matches the hash of what comes before the NUL', async () => {
    const stored = doveadmPw('SHA512-CRYPT', 'secret');
    expect(await verifyStored('secret', stored, noScrypt)).toBe('match');
    expect(await verifyStored('secret\u0000more', stored, noScrypt)).toBe('mismatch');
  });

  it('a crypt string libcrypt does not know is unsupported, not a match, and garbage is invalid', async () => {
    expect(await verifyStored('x', '{CRYPT}$9z$somesalt$abcdef', noScrypt)).toBe('unsupported');
    expect(await verifyStored('x', '{CRYPT}not a crypt string', noScrypt)).toBe('invalid');
    expect(await verifyStored('x', '{SHA512-CRYPT}$6$', noScrypt)).not.toBe('match');
  });

  it('many checks at once all get their own answer (each worker thread has its own crypt area)', async () => {
    const a = doveadmPw('SHA512-CRYPT', 'alpha');
    const b = doveadmPw('SHA512-CRYPT', 'beta');
    const checks = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? verifyStored(i % 4 === 0 ? 'alpha' : 'beta', a, noScrypt) : verifyStored(i % 4 === 1 ? 'beta' : 'alpha', b, noScrypt),
    );
    const verdicts = await Promise.all(checks);
    for (const [i, v] of verdicts.entries()) expect(v, `check ${i}`).toBe(i % 4 === 0 || i % 4 === 1 ? 'match' : 'mismatch');
  });
});
