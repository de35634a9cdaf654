// The server settings the stress runs use, and their ten accounts: one IMAP listener, and room for 50
// clients from one address signing in and out in a loop (the per-address defaults are 50 and 10).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from '../helpers/server.js';
import { STRESS_PASSWORD, stressUser } from './run.js';

export const STRESS_LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
export const STRESS_IMAP_CONFIG = { maxChannelsPerAddress: 500, maxUnauthenticatedPerAddress: 500, maxUnauthenticated: 500 };

/** Adds the ten stress accounts with one `postern import dovecot` (ten `account add` runs cost seconds each on a busy machine). */
export async function addStressAccounts(server: TestServer): Promise<void> {
  const file = join(server.dir, 'stress-users');
  const lines = Array.from(
    { length: 10 },
    (_, i) => `${stressUser(i)}:{PLAIN}${STRESS_PASSWORD}::::${join(server.dir, `stress-home-${i + 1}`)}::`,
  );
  await writeFile(file, `${lines.join('\n')}\n`);
  const r = await server.cli(['import', 'dovecot', '--passwd-file', file]);
  if (r.code !== 0) throw new Error(`import of the stress accounts failed: ${r.stderr}`);
}
