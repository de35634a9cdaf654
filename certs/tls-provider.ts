// The server's TLS certificate as a Node SecureContext, shared by every listener. reload() reads the
// files again (SIGHUP); connections made afterwards use the new certificate, open ones keep theirs.
import { mkdir, readFile, rename } from 'node:fs/promises';
import { writeFileAtomic } from '../lib/atomic-file.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { certificateNames, fingerprint, generateSelfSigned, type CertificatePair } from './self-signed.js';

/**
 * The TLS profile: Mozilla's "intermediate" server configuration (version 5.7). TLS 1.2 with forward
 * secrecy and AEAD ciphers only (ECDHE with AES-GCM or ChaCha20-Poly1305: no CBC, no SHA-1 MACs, no RSA
 * key exchange), and TLS 1.3's three suites. The client's preference decides among them, as the profile
 * says, since every one is strong.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Renegotiation started by a client costs the server a full handshake each time for almost nothing: it
 * is refused outright (TLS 1.2; TLS 1.3 has none). Node's own limit only emits an error event.
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION;

/** A certificate problem for the operator; the message names the file or key and the fix. */
export class CertificateError extends Error {}

export interface CertificateFiles {
  cert: string;
  key: string;
  /** True when these are the generated files in dataDir/certs/. */
  generated: boolean;
}

/** What the certificate comes from (the config's tls section, dataDir and mainDomain). */
export interface CertificateSettings {
  /** Generated certificates live in dataDir/certs/. */
  dataDir: string;
  /** The generated certificate's first name after the one asked for. */
  mainDomain: string;
  /** tls.cert and tls.key, when the operator gives a certificate. */
  cert?: string;
  key?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** The config file, named in error messages. */
  configFile: string | null;
}

export function certificateFiles(config: CertificateSettings): CertificateFiles {
  if (config.cert && config.key) return { cert: config.cert, key: config.key, generated: false };
  const dir = join(config.dataDir, 'certs');
  return { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), generated: true };
}

export interface WrittenCertificate {
  files: CertificateFiles;
  pem: CertificatePair;
  names: string[];
  /** The pair that was there before, kept under new names (clients may have pinned it), or null. */
  kept: { cert: string; key: string; fingerprint: string } | null;
}

/**
 * Writes a new self-signed pair into dataDir/certs/ (key mode 0600), each file replaced atomically. A
 * pair already there is never lost: it is renamed to server.crt.<time> and server.key.<time> first.
 */
export async function writeSelfSigned(config: CertificateSettings, host: string): Promise<WrittenCertificate> {
  const files = certificateFiles({ ...config, cert: undefined, key: undefined });
  await mkdir(join(config.dataDir, 'certs'), { recursive: true, mode: 0o700 });
  const names = certificateNames(host, config.mainDomain);
  const pem = generateSelfSigned(names);
  let kept: WrittenCertificate['kept'] = null;
  if (existsSync(files.cert)) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const old = await readFile(files.cert, 'utf8');
    kept = { cert: `${files.cert}.${stamp}`, key: `${files.key}.${stamp}`, fingerprint: fingerprint(old) };
    await rename(files.cert, kept.cert);
    if (existsSync(files.key)) await rename(files.key, kept.key);
  }
  await writeFileAtomic(files.key, pem.key, 0o600);
  await writeFileAtomic(files.cert, pem.cert, 0o644);
  return { files, pem, names, kept };
}

export class TlsProvider {
  private current: SecureContext | null = null;
  files: CertificateFiles | null = null;

  /** The context for a new TLS connection (null before load()). */
  get context(): SecureContext | null {
    return this.current;
  }

  /**
   * Loads the configured certificate, or the generated one, generating it on first use. On error the
   * previous certificate stays in use and the error is thrown for the caller to report.
   */
  async load(config: CertificateSettings): Promise<{ generatedNow: boolean }> {
    const files = certificateFiles(config);
    let generatedNow = false;
    if (files.generated && !existsSync(files.cert)) {
      await writeSelfSigned(config, config.mainDomain);
      generatedNow = true;
    }
    const read = async (path: string, what: 'certificate' | 'key') => {
      try {
        return await readFile(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT'
            ? 'there is no such file'
            : code === 'EACCES'
              ? 'permission denied'
              : code === 'EISDIR'
                ? 'it is a folder'
                : ((err as Error).message ?? code);
        if (files.generated) {
          throw new CertificateError(
            `cannot read the generated ${what} ${path}: ${why} (${code}); run "postern cert generate" to make a new pair`,
          );
        }
        const key = what === 'certificate' ? 'tls.cert' : 'tls.key';
        throw new CertificateError(
          `cannot read ${key} ${path} (in ${config.configFile ?? 'the config'}): ${why} (${code}); fix ${key}, or remove tls.cert and ` +
            `tls.key to use a generated self-signed certificate`,
        );
      }
    };
    const cert = await read(files.cert, 'certificate');
    const key = await read(files.key, 'key');
    try {
      this.current = createSecureContext({
        cert,
        key,
        minVersion: config.minVersion,
        ciphers: TLS_CIPHERS,
        secureOptions: SECURE_OPTIONS,
        honorCipherOrder: false,
      });
    } catch (err) {
      throw new CertificateError(`the certificate ${files.cert} and key ${files.key} cannot be used: ${(err as Error).message}`);
    }
    this.files = files;
    return { generatedNow };
  }
}
