// A self-signed certificate for the server's host name, made on first start when the config names no
// certificate (so STLS and port 995 work out of the box). The RSA key comes from Node's native crypto
// (fast); node-forge builds and signs the X.509 certificate.
import { generateKeyPairSync, createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import forge from 'node-forge';

export interface CertificatePair {
  cert: string;
  key: string;
}

/**
 * The names a client may use to reach this server, for a generated certificate: `first` (the host name
 * asked for, or mainDomain), mainDomain, this machine's host name, localhost, 127.0.0.1 and ::1. A
 * client that connects to 127.0.0.1 or to the machine's name then verifies the certificate (once it
 * trusts it) instead of failing on the name.
 */
export function certificateNames(first: string, mainDomain: string): string[] {
  const names: string[] = [];
  for (const name of [first, mainDomain, hostname(), 'localhost', '127.0.0.1', '::1']) {
    if (!name || !/^[A-Za-z0-9.:-]{1,253}$/.test(name)) continue;
    if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  }
  return names;
}

/** A self-signed certificate for `names` (the first is also its common name). */
export function generateSelfSigned(names: readonly string[], days = 825): CertificatePair {
  const host = names[0];
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`; // positive, 16 octets
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  const subject = [
    { name: 'commonName', value: host },
    { name: 'organizationName', value: 'Postern self-signed' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const altNames = names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** SHA-256 fingerprint of a PEM certificate, as "AB:CD:...", for clients that pin it (fetchmail sslfingerprint). */
export function fingerprint(certPem: string): string {
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(certPem))).getBytes(), 'binary');
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
