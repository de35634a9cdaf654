// The active script is kept in memory between deliveries (store/maildir/sieve-scripts.ts, knownActive): a
// delivery looks at the link and the file, and reads the file again whenever either changed. Whoever changes
// it — ManageSieve and `postern sieve` (through MaildirSieveScripts), or Dovecot's managesieved and an editor
// (straight on disk, here with plain file calls) — the next delivery runs the new script, never the old one.
import { mkdir, mkdtemp, open, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaildirSieveScripts } from '../../store/maildir/sieve-scripts.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-sieve-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An account folder with sieve/NAME.sieve active (as Pigeonhole lays it out), and its store handle. */
async function account(
  name: string,
  scripts: Record<string, string>,
  active: string,
): Promise<{ home: string; store: MaildirSieveScripts }> {
  const home = join(dir, name);
  await mkdir(join(home, 'sieve', 'tmp'), { recursive: true });
  for (const [script, text] of Object.entries(scripts)) await writeFile(join(home, 'sieve', `${script}.sieve`), text);
  await symlink(`sieve/${active}.sieve`, join(home, '.dovecot.sieve'));
  return { home, store: new MaildirSieveScripts(home) };
}

/** Rewrites a file in place (same inode, same size), as an editor that does not rename would. */
async function rewriteInPlace(path: string, text: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(Buffer.from(text), 0, Buffer.byteLength(text), 0);
  } finally {
    await handle.close();
  }
}

const activeText = async (store: MaildirSieveScripts) => {
  const a = await store.active();
  return a === null ? null : `${a.name}: ${a.content.toString()}`;
};

describe('the active script kept between deliveries', () => {
  it('a script rewritten in place right after a delivery read it is read again (same size, same second)', async () => {
    const { home, store } = await account('fresh', { rules: 'keep;\n' }, 'rules');
    expect(await activeText(store)).toBe('rules: keep;\n');
    await rewriteInPlace(join(home, 'sieve', 'rules.sieve'), 'stop;\n');
    expect(await activeText(store)).toBe('rules: stop;\n');
  });

  it('once settled it is served from memory, and every kind of change is seen at the next delivery', async () => {
    const original = 'require "fileinto";\nfileinto "A";\n';
    const kinds = [
      'managesieve-put',
      'managesieve-activate',
      'dovecot-link',
      'editor-in-place',
      'dovecot-rename',
      'deactivated',
      'link-in-sieve',
    ];
    const accounts = await Promise.all(
      kinds.map((k) => account(k, { rules: original, other: 'discard;\n' }, 'rules').then((a) => ({ kind: k, ...a }))),
    );
    // a file changed in the last two seconds is always read again: let these settle, then read them once
    await new Promise((r) => setTimeout(r, 2100));
    for (const a of accounts) expect(await activeText(a.store)).toBe(`rules: ${original}`);
    for (const a of accounts) expect(await activeText(a.store)).toBe(`rules: ${original}`); // (now from memory)

    const changed = original.replace('"A"', '"B"'); // the same size
    const [put, activate, dovecotLink, inPlace, dovecotRename, deactivated, linked] = accounts;
    await put.store.put('rules', Buffer.from(changed)); // ManageSieve PUTSCRIPT, `postern sieve put`
    await activate.store.setActive('other'); // SETACTIVE, `postern sieve activate`
    // Dovecot's managesieved: a new link renamed over the old one
    await symlink('sieve/other.sieve', join(dovecotLink.home, '.dovecot.sieve-new'));
    await rename(join(dovecotLink.home, '.dovecot.sieve-new'), join(dovecotLink.home, '.dovecot.sieve'));
    await rewriteInPlace(join(inPlace.home, 'sieve', 'rules.sieve'), changed);
    // Dovecot's managesieved PUTSCRIPT: written in sieve/tmp/, renamed over the script
    await writeFile(join(dovecotRename.home, 'sieve', 'tmp', 'rules_1.sieve'), changed);
    await rename(join(dovecotRename.home, 'sieve', 'tmp', 'rules_1.sieve'), join(dovecotRename.home, 'sieve', 'rules.sieve'));
    await unlink(join(deactivated.home, '.dovecot.sieve'));
    // sieve/ replaced by a link to somewhere else: refused, never followed, never the old script either
    await rename(join(linked.home, 'sieve'), join(linked.home, 'elsewhere'));
    await symlink(join(linked.home, 'elsewhere'), join(linked.home, 'sieve'));

    expect(await activeText(put.store)).toBe(`rules: ${changed}`);
    expect(await activeText(activate.store)).toBe('other: discard;\n');
    expect(await activeText(dovecotLink.store)).toBe('other: discard;\n');
    expect(await activeText(inPlace.store)).toBe(`rules: ${changed}`);
    expect(await activeText(dovecotRename.store)).toBe(`rules: ${changed}`);
    expect(await activeText(deactivated.store)).toBeNull();
    await expect(linked.store.active()).rejects.toThrow(/symbolic link/);
  });
});
