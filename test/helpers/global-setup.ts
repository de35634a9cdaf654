// Once per test run: the self-signed certificate the in-process harness (test/helpers/in-process.ts)
// puts where the server keeps its generated one, so no harness waits for an RSA key of its own.
import type { TestProject } from 'vitest/node';
import { certificateNames, type CertificatePair, generateSelfSigned } from '../../certs/self-signed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testCertificate: CertificatePair;
  }
}

export default function setup(project: TestProject): void {
  project.provide('testCertificate', generateSelfSigned(certificateNames('example.org', 'example.org')));
}
