// A self-signed certificate for the server's host name, made on first start when the config names no
// certificate (so STLS and port 995 work out of the box). The RSA key comes from Node's native crypto
// (fast); node-forge builds and signs the X.509 certificate.
import { generateKeyPairSync, createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertificatePair {
  cert: string;
  key: string;
}

export function generateSelfSigned(host: string, days = 825): CertificatePair {
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
  const subject = [{ name: 'commonName', value: host }, { name: 'organizationName', value: 'Postern self-signed' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const altNames = isIP(host) ? [{ type: 7, ip: host }] : [{ type: 2, value: host }];
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
