// The README's "Moving from Dovecot" points Dovecot's mail_location at Postern's tree. Postern keeps a
// user without a domain under mainDomain (accounts/example.org/jsmith), but Dovecot's %d is empty for
// such a login: `accounts/%d/%n/Maildir` made accounts/jsmith/Maildir and showed an empty INBOX with a
// new UIDVALIDITY. The README's line gives the domain a default; this runs a real Dovecot with that very
// line over a tree with a user with and one without a domain.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const README = new URL('../../README.md', import.meta.url);

/** The mail_location line the README gives for step 2 of the move, with its data folder. */
async function readmeMailLocation(dataDir: string): Promise<string> {
  const text = await readFile(README, 'utf8');
  const line = text.match(/mail_location = (maildir:\/var\/lib\/postern\/accounts\/[^`\s]+)/);
  if (!line) throw new Error('the README no longer gives a mail_location for the move');
  return line[1].replace('/var/lib/postern', dataDir);
}

describe("Dovecot with the README's mail_location on Postern's tree", () => {
  let server: TestServer;
  let dovecot: Dovecot;
  beforeAll(async () => {
    server = await startServer({
      config: {
        mainDomain: 'example.org',
        domains: ['client1.com'],
        listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }],
      },
    });
    await server.addAccount('jsmith', 'a secret');
    await server.addAccount('bob@client1.com', 'b secret');
    await server.deliver('jsmith', 'Subject: for jsmith\n\nhello\n');
    await server.deliver('bob@client1.com', 'Subject: for bob\n\nhello\n');
    for (const dir of ['example.org/jsmith', 'client1.com/bob']) await shareWithDovecot(server.dir, join(server.dataDir, 'accounts', dir));
    const location = await readmeMailLocation(server.dataDir);
    dovecot = await startDovecot(
      [
        { name: 'jsmith', password: 'a secret' },
        { name: 'bob@client1.com', password: 'b secret' },
      ],
      join(server.dataDir, 'accounts', 'example.org'),
      { mailLocation: location },
    );
  });
  afterAll(async () => {
    await dovecot?.stop();
    await server?.stop();
  });

  /** SELECT INBOX and the subject of message 1, through Dovecot and through Postern. */
  const inboxOf = (user: string, password: string) =>
    dovecot.imap<{ uidvalidity: string; subject: string }>(
      user,
      password,
      `check(M.select('INBOX'))
uidvalidity = M.response('UIDVALIDITY')[1][0].decode()
head = check(M.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))[0][1].decode().strip()
print(json.dumps({'uidvalidity': uidvalidity, 'subject': head}))`,
    );

  async function posternUidValidity(user: string, password: string): Promise<string> {
    const { client } = await RawImap.connect(server.portOf('imap'));
    await client.command(`LOGIN ${user} "${password}"`);
    const select = await client.command('SELECT INBOX');
    client.close();
    return /UIDVALIDITY (\d+)/.exec(select.untagged.join('\n'))![1];
  }

  it('a user without a domain finds the mail Postern keeps under mainDomain', async () => {
    const seen = await inboxOf('jsmith', 'a secret');
    expect(seen.subject).toBe('Subject: for jsmith');
    expect(seen.uidvalidity).toBe(await posternUidValidity('jsmith', 'a secret'));
  });

  it('a user with a domain finds hers under that domain', async () => {
    const seen = await inboxOf('bob@client1.com', 'b secret');
    expect(seen.subject).toBe('Subject: for bob');
    expect(seen.uidvalidity).toBe(await posternUidValidity('bob@client1.com', 'b secret'));
  });
});
