// The maildirsize file (store/maildir/maildirsize.ts) as Dovecot's `quota = maildir` backend reads and
// writes it: the limits line, the change lines, and when the usage is counted again from the messages.
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { limitsLine, MaildirQuota, parseMaildirsize, sizeInName } from '../../store/maildir/maildirsize.js';
import { formatSize, parseSize, type QuotaValues } from '../../store/quota/quota.js';

describe('the maildirsize format', () => {
  it('writes the limits line as Dovecot does ("0S" when there are none)', () => {
    expect(limitsLine({ storage: 0, messages: 0 })).toBe('0S');
    expect(limitsLine({ storage: 1024, messages: 0 })).toBe('1024S');
    expect(limitsLine({ storage: 0, messages: 5 })).toBe('5C');
    expect(limitsLine({ storage: 1024, messages: 5 })).toBe('1024S,5C');
  });

  it('sums the change lines; a file it cannot trust is damaged (null)', () => {
    expect(parseMaildirsize(Buffer.from('1024S,5C\n100 2\n-40 -1\n'))).toEqual({
      limits: { storage: 1024, messages: 5 },
      usage: { storage: 60, messages: 1 },
      lines: 2,
    });
    // a last line a writer has not finished is left out
    expect(parseMaildirsize(Buffer.from('0S\n100 2\n50'))?.usage).toEqual({ storage: 100, messages: 2 });
    for (const damaged of [
      '',
      '1024S\n',
      'garbage\n1 1\n',
      '1024S\n1 x\n',
      '1024S\n-5 -1\n',
      '1024S\n1\u00001\n',
      `0S\n${'1 1\n'.repeat(1280)}`,
    ])
      expect(parseMaildirsize(Buffer.from(damaged)), JSON.stringify(damaged.slice(0, 20))).toBeNull();
  });

  it('reads S= in a name as Dovecot does, and sizes as quota_rule writes them', () => {
    expect(sizeInName('1.M1P2.host,S=1234,W=1260:2,S')).toBe(1234);
    expect(sizeInName('1.M1P2.host,S=1234:2,')).toBe(1234);
    expect(sizeInName('1.M1P2.host,S=12x4')).toBeUndefined();
    expect(sizeInName('1.M1P2.host')).toBeUndefined();
    expect([parseSize('1G'), parseSize('500M'), parseSize('10k'), parseSize(2048), parseSize('2 GB'), parseSize('1.5G')]).toEqual([
      1024 ** 3,
      500 * 1024 ** 2,
      10240,
      2048,
      2 * 1024 ** 3,
      null,
    ]);
    expect([formatSize(1024 ** 3), formatSize(1536 * 1024 ** 2), formatSize(100)]).toEqual(['1G', '1536M', '100']);
  });
});

describe('the usage of a Maildir', () => {
  let root: string;
  let limits: QuotaValues;
  const file = () => join(root, 'maildirsize');
  const quota = () => new MaildirQuota(root, async () => limits);

  beforeEach(async () => {
    root = join(await mkdtemp(join(tmpdir(), 'postern-maildirsize-')), 'Maildir');
    for (const dir of ['new', 'cur', 'tmp', '.Trash/cur', '.Trash/new', '.lists.info/cur'])
      await mkdir(join(root, dir), { recursive: true });
    // INBOX: one by S=, one without (its size on disk); Trash counts too; tmp/ does not
    await writeFile(join(root, 'cur', '1.M1P1.host,S=100,W=104:2,S'), 'x'.repeat(100));
    await writeFile(join(root, 'new', '2.M2P1.host'), 'y'.repeat(7));
    await writeFile(join(root, '.Trash', 'cur', '3.M3P1.host,S=1000:2,ST'), 'z');
    await writeFile(join(root, '.lists.info', 'cur', '4.M4P1.host,S=20:2,'), 'w'.repeat(20));
    await writeFile(join(root, 'tmp', '5.M5P1.host,S=9999'), '');
    limits = { storage: 10_000, messages: 100 };
  });
  afterEach(async () => {
    await rm(join(root, '..'), { recursive: true, force: true });
  });

  const counted = { storage: 100 + 7 + 1000 + 20, messages: 4 };

  it('is counted when the file is missing, and the file written as Dovecot writes it', async () => {
    expect((await quota().report()).usage).toEqual(counted);
    expect(await readFile(file(), 'utf8')).toBe(`10000S,100C\n${counted.storage} ${counted.messages}\n`);
  });

  it('is counted again when the file is damaged or its limits line differs; a sound file is trusted', async () => {
    await writeFile(file(), '10000S,100C\n5 1\n6 1\n');
    expect((await quota().report()).usage).toEqual({ storage: 11, messages: 2 }); // trusted, as Dovecot trusts it
    await writeFile(file(), '10000S,100C\n5 one\n');
    expect((await quota().report()).usage).toEqual(counted);
    await writeFile(file(), '5000S,100C\n5 1\n');
    expect((await quota().report()).usage).toEqual(counted);
    expect(await readFile(file(), 'utf8')).toBe(`10000S,100C\n${counted.storage} ${counted.messages}\n`);
  });

  it('an over-quota sum with more than one change line, or older than 15 minutes, is counted again before it refuses', async () => {
    await writeFile(file(), '10000S,100C\n9000 1\n2000 1\n');
    expect((await quota().report()).usage).toEqual(counted);
    await writeFile(file(), '10000S,100C\n20000 1\n');
    expect((await quota().report()).usage).toEqual({ storage: 20000, messages: 1 }); // one line, fresh: trusted
    const old = new Date(Date.now() - 16 * 60 * 1000);
    await utimes(file(), old, old);
    expect((await quota().report()).usage).toEqual(counted);
  });

  it('appends one change line per change; `recalculate` rewrites it whole', async () => {
    await quota().report();
    await writeFile(join(root, 'new', '6.M6P1.host,S=50'), 'v'.repeat(50));
    await quota().withRoom({ storage: 50, messages: 1 }, async () => ({ result: null, added: { storage: 50, messages: 1 } }));
    await quota().changed({ storage: -100, messages: -1 });
    expect(await readFile(file(), 'utf8')).toBe(`10000S,100C\n${counted.storage} ${counted.messages}\n50 1\n-100 -1\n`);
    expect((await quota().report()).usage).toEqual({ storage: counted.storage - 50, messages: counted.messages });
    expect((await quota().recalculate()).usage).toEqual({ storage: counted.storage + 50, messages: counted.messages + 1 });
    expect(await readFile(file(), 'utf8')).toBe(`10000S,100C\n${counted.storage + 50} ${counted.messages + 1}\n`);
  });

  it('without limits it writes no file', async () => {
    limits = { storage: 0, messages: 0 };
    expect((await quota().report()).usage).toEqual(counted);
    await expect(readFile(file())).rejects.toThrow(/ENOENT/);
  });
});
