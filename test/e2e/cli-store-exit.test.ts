// The store's refusals give the same exit codes in every command that reaches the store (cli/exit.ts's one
// table): storage the store refuses to use (an account's Maildir that is a link) is 69 for `postern mailbox` as
// for `postern sieve`, one line naming the folder, not a stack trace (70) as `postern mailbox` gave before.
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

let env: TestServer; // config and data dir only; no server running

beforeAll(async () => {
  env = await startServer({ noServe: true });
  await env.addAccount('carol', 'c pass');
  await env.addAccount('bob', 'b pass');
});
afterAll(async () => {
  await env.stop();
});

describe('the store refusals as exit codes', () => {
  it('an account folder that is a link: 69 and one line for postern mailbox and postern sieve alike', async () => {
    const account = join(env.dataDir, 'accounts/example.org/carol');
    const maildir = join(account, 'Maildir');
    await rename(maildir, `${maildir}.real`);
    await symlink(join(env.dataDir, 'accounts/example.org/bob/Maildir'), maildir);
    try {
      const created = await env.cli(['mailbox', 'create', 'carol', 'Projects']);
      expect(created.stderr).toMatch(/\npostern: .*carol\/Maildir is a symbolic link or not a folder; [^\n]*bind mount\)\n$/);
      expect(created.stderr).not.toMatch(/\n +at /); // no stack trace
      expect(created.code).toBe(69);
    } finally {
      await rm(maildir);
      await rename(`${maildir}.real`, maildir);
    }
    // the sieve folder the same way, through postern sieve
    await mkdir(join(env.dataDir, 'accounts/example.org/bob/sieve'), { recursive: true });
    await symlink(join(env.dataDir, 'accounts/example.org/bob/sieve'), join(account, 'sieve'));
    const listed = await env.cli(['sieve', 'list', 'carol']);
    expect(listed.stderr).toMatch(/postern: .*carol\/sieve is a symbolic link or not a folder; [^\n]*bind mount\)\n$/);
    expect(listed.stderr).not.toMatch(/\n +at /);
    expect(listed.code).toBe(69);
  });
});
