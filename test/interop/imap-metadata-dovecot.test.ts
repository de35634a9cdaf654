// METADATA (RFC 5464) shared with a real Dovecot 2.3 on one Maildir tree: Dovecot configured with
// `mail_attribute_dict = file:%h/Maildir/dovecot-attributes` (as the README says) reads the entries
// Postern keeps and Postern reads Dovecot's, server entries and mailbox entries alike; a mailbox Dovecot
// renames keeps its entries in Postern. python3 imaplib sends Delta Chat's exchange to Postern.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'secret';
const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

let server: TestServer;
let dovecot: Dovecot;

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS, imap: { metadata: { admin: 'mailto:admin@example.org' } } } });
  await server.addAccount('alice', PASSWORD);
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  // INBOX and one more mailbox exist before Dovecot's processes get the folder
  const c = await RawImap.signIn(server.portOf('imap'), 'alice', PASSWORD);
  await c.command('CREATE Projects');
  await c.command('SELECT INBOX');
  c.close();
  await shareWithDovecot(server.dir, join(accounts, 'alice'));
  // Postern (as root) gives new files a folder's owner as it looked at it up to 5 s ago (store/maildir/owner.ts)
  await new Promise((r) => setTimeout(r, 5_100));
  dovecot = await startDovecot([{ name: 'alice', password: PASSWORD }], accounts, {
    extraConfig:
      'mail_attribute_dict = file:%h/Maildir/dovecot-attributes\nmail_server_admin = mailto:admin@example.org\n' +
      'protocol imap {\n  imap_metadata = yes\n}\n',
  });
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

describe('METADATA beside Dovecot', () => {
  it('Dovecot reads what Postern keeps, and Postern what Dovecot keeps', async () => {
    const p = await RawImap.signIn(server.portOf('imap'), 'alice', PASSWORD);
    expect((await p.command('SETMETADATA Projects (/shared/comment {7+}\r\na\tb\r\nc! /private/vendor/acme/k "v")')).status).toBe('OK');
    expect((await p.command('SETMETADATA "" (/private/devicetoken "from-postern")')).status).toBe('OK');
    const d = await RawImap.signIn(dovecot.imapPort, 'alice', PASSWORD);
    const read = await d.command('GETMETADATA Projects (/shared/comment /private/vendor/acme/k)');
    expect(read.untagged).toEqual(['* METADATA Projects (/shared/comment {7}\r\na\tb\r\nc! /private/vendor/acme/k {1}\r\nv)']);
    expect((await d.command('GETMETADATA "" /private/devicetoken')).untagged).toEqual([
      '* METADATA "" (/private/devicetoken {12}\r\nfrom-postern)',
    ]);
    expect((await d.command('SETMETADATA INBOX (/private/comment "from dovecot")')).status).toBe('OK');
    expect((await d.command('SETMETADATA "" (/shared/vendor/acme/motd "from dovecot")')).status).toBe('OK');
    expect((await d.command('SETMETADATA Projects (/shared/comment NIL)')).status).toBe('OK');
    expect((await p.command('GETMETADATA INBOX /private/comment')).untagged).toEqual([
      '* METADATA INBOX (/private/comment {12}\r\nfrom dovecot)',
    ]);
    expect((await p.command('GETMETADATA "" (/shared/vendor/acme/motd /private/devicetoken)')).untagged).toEqual([
      '* METADATA "" (/shared/vendor/acme/motd {12}\r\nfrom dovecot /private/devicetoken {12}\r\nfrom-postern)',
    ]);
    // the server's /shared/admin is the operator's in both (Postern: imap.metadata.admin; Dovecot: mail_server_admin)
    for (const c of [p, d]) {
      expect((await c.command('GETMETADATA "" (/shared/admin)')).untagged).toEqual([
        '* METADATA "" (/shared/admin {24}\r\nmailto:admin@example.org)',
      ]);
      expect((await c.command('SETMETADATA "" (/shared/admin "mailto:me@example.org")')).tagged).toMatch(/^a\d+ NO \[CANNOT\] /);
    }
    expect((await p.command('GETMETADATA Projects /shared/comment')).untagged).toEqual(['* METADATA Projects (/shared/comment NIL)']);
    // a rename by Dovecot keeps the mailbox's GUID, so its entries stay with it
    expect((await d.command('RENAME Projects Done')).status).toBe('OK');
    expect((await p.command('GETMETADATA Done /private/vendor/acme/k')).untagged).toEqual([
      '* METADATA Done (/private/vendor/acme/k {1}\r\nv)',
    ]);
    d.close();
    p.close();
  });

  it("answers python3 imaplib sending what Delta Chat sends: its token on INBOX, then the server's comment and admin", async () => {
    const script = `import imaplib, json
imaplib.Commands['GETMETADATA'] = ('AUTH', 'SELECTED')
imaplib.Commands['SETMETADATA'] = ('AUTH', 'SELECTED')
M = imaplib.IMAP4('127.0.0.1', ${server.portOf('imap')}, timeout=30)
M.login('alice', '${PASSWORD}')
out = {'metadata': b'METADATA' in M.capability()[1][0].split()}
typ, _ = M._simple_command('SETMETADATA', '"INBOX"', '(/private/devicetoken "openpgp:token")')
out['set'] = typ
for name, mailbox, entries in (('server', '""', '(/shared/comment /shared/admin)'), ('token', '"INBOX"', '/private/devicetoken')):
    typ, data = M._simple_command('GETMETADATA', mailbox, entries)
    _, items = M._untagged_response(typ, data, 'METADATA')
    out[name] = [b''.join(i).decode('latin1') if isinstance(i, tuple) else i.decode('latin1') for i in items]
M.logout()
print(json.dumps(out))
`;
    const r = await run('python3', ['-c', script], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out).toEqual({
      metadata: true,
      set: 'OK',
      server: ['"" (/shared/comment NIL /shared/admin {24}mailto:admin@example.org', ')'],
      token: ['INBOX (/private/devicetoken {13}openpgp:token', ')'],
    });
  });
});
