// QUOTA (RFC 9208) in this process over the in-memory store (test/helpers/in-process.ts), byte by byte:
// the capabilities, GETQUOTAROOT, GETQUOTA, SETQUOTA refused, NO [OVERQUOTA] for APPEND, COPY and MOVE,
// STATUS DELETED-STORAGE, LMTP's 552 5.2.2 (452 4.2.2 with quota.fullTempfail), XTND XMIT and bulletins. The same on the
// Maildir store with its maildirsize file is test/e2e/quota.test.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawLmtp } from '../helpers/lmtp-client.js';
import { RawPop } from '../helpers/pop-client.js';

const LISTENERS = [
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
];

/** A message of exactly `octets` octets. */
function message(octets: number, subject = 'q'): string {
  const head = `Subject: ${subject}\r\n\r\n`;
  return `${head}${'x'.repeat(octets - head.length - 2)}\r\n`;
}

async function append(c: RawImap, mailbox: string, text: string): Promise<string> {
  return (await c.command(`APPEND ${mailbox} {${text.length}+}\r\n${text}`)).tagged;
}

/** The header of a message whose body is sent as binary (stored base64-encoded: RFC 3516 section 4.4). */
const BINARY_HEAD =
  'MIME-Version: 1.0\r\nSubject: b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n';

const OVER = /^a\d+ NO \[OVERQUOTA\] Quota exceeded \(mailbox for user is full\)$/;

describe('QUOTA over IMAP (RFC 9208)', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS, quota: { storage: 3000, messages: 10 } } });
    await server.addAccount('jsmith', 'pw');
    await server.addAccount('bob', 'pw');
    await server.ctx.accounts.modify({ name: 'bob', domain: 'example.org' }, (r) => {
      r.quota = { storage: 500 };
    });
  });
  afterAll(() => server.stop());

  it('offers QUOTA with both resources; GETQUOTAROOT and GETQUOTA answer the user root; SETQUOTA is refused', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'pw');
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/ QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE( |$)/);
    expect((await c.command('GETQUOTAROOT INBOX')).untagged).toEqual([
      '* QUOTAROOT INBOX "User quota"',
      '* QUOTA "User quota" (STORAGE 0 3 MESSAGE 0 10)',
    ]);
    expect((await c.command('GETQUOTA "User quota"')).untagged).toEqual(['* QUOTA "User quota" (STORAGE 0 3 MESSAGE 0 10)']);
    expect((await c.command('GETQUOTA "other"')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\] There is no quota root "other"/);
    expect((await c.command('GETQUOTAROOT nosuch')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\]/);
    expect((await c.command('SETQUOTA "User quota" (STORAGE 100000)')).tagged).toMatch(/^a\d+ NO \[NOPERM\] /);
    expect((await c.command('SETQUOTA "User quota" STORAGE')).tagged).toMatch(/^a\d+ BAD /);
    c.close();
    // an account without any limit has no quota root
    await server.addAccount('free', 'pw');
    await server.ctx.accounts.modify({ name: 'free', domain: 'example.org' }, (r) => {
      r.quota = { storage: 0, messages: 0 };
    });
    const free = await RawImap.signIn(server.portOf('imap'), 'free', 'pw');
    expect((await free.command('GETQUOTAROOT INBOX')).untagged).toEqual(['* QUOTAROOT INBOX']);
    expect((await free.command('GETQUOTA "User quota"')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\] There is no quota root: /);
    free.close();
  });

  it('APPEND, COPY and MOVE fill the quota to the last octet and answer NO [OVERQUOTA] past it, storing nothing', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'pw');
    expect((await c.command('CREATE Archive')).status).toBe('OK');
    expect(await append(c, 'INBOX', message(1000, 'a'))).toMatch(/OK \[APPENDUID/);
    expect(await append(c, 'INBOX', message(1000, 'b'))).toMatch(/OK \[APPENDUID/);
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    // two messages do not fit in the 1000 octets left: neither is copied
    expect((await c.command('COPY 1:2 Archive')).tagged).toMatch(OVER);
    expect((await c.command('STATUS Archive (MESSAGES)')).untagged).toEqual(['* STATUS Archive (MESSAGES 0)']);
    expect(await append(c, 'INBOX', message(1001, 'c'))).toMatch(OVER);
    expect((await c.command('COPY 1 Archive')).tagged).toMatch(/OK \[COPYUID/); // to the last octet
    expect((await c.command('GETQUOTAROOT Archive')).untagged[1]).toBe('* QUOTA "User quota" (STORAGE 3 3 MESSAGE 3 10)');
    expect(await append(c, 'INBOX', message(30, 'd'))).toMatch(OVER);
    // full, a move within the account still works (it changes no usage); into bob's account it must fit his
    expect((await c.command('MOVE 2 Archive')).status).toBe('OK');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'pw');
    expect((await bob.command('CREATE Shared')).status).toBe('OK');
    expect((await bob.command('SETACL Shared jsmith lrswipkxte')).status).toBe('OK');
    expect((await c.command('SELECT Archive')).status).toBe('OK');
    expect((await c.command('UID MOVE 1:* ~bob/Shared')).tagged).toMatch(OVER);
    expect((await c.command('STATUS Archive (MESSAGES)')).untagged).toEqual(['* STATUS Archive (MESSAGES 2)']);
    expect((await bob.command('GETQUOTAROOT Shared')).untagged).toEqual([
      '* QUOTAROOT Shared "User quota"',
      '* QUOTA "User quota" (STORAGE 0 1 MESSAGE 0 10)',
    ]);
    // another user's mailbox is in no root this user sees
    expect((await c.command('GETQUOTAROOT ~bob/Shared')).untagged).toEqual(['* QUOTAROOT ~bob/Shared']);
    // STATUS DELETED and DELETED-STORAGE (RFC 9208 section 4.2), then EXPUNGE gives the room back
    expect((await c.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK');
    expect((await c.command('STATUS Archive (DELETED DELETED-STORAGE)')).untagged).toEqual([
      '* STATUS Archive (DELETED 1 DELETED-STORAGE 1)',
    ]);
    expect((await c.command('EXPUNGE')).status).toBe('OK');
    expect((await c.command('GETQUOTA "User quota"')).untagged).toEqual(['* QUOTA "User quota" (STORAGE 2 3 MESSAGE 2 10)']);
    expect(await append(c, 'INBOX', message(1000, 'e'))).toMatch(/OK \[APPENDUID/);
    bob.close();
    c.close();
  });
});

describe('APPEND and MULTIAPPEND (RFC 3502) against the quota: refused before the "+" when the size tells, all or nothing', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    for (const [name, quota] of [
      ['carol', { storage: 2000, messages: 10 }],
      ['dave', { storage: 0, messages: 2 }],
    ] as const) {
      await server.addAccount(name, 'pw');
      await server.ctx.accounts.modify({ name, domain: 'example.org' }, (r) => {
        r.quota = quota;
      });
    }
  });
  afterAll(() => server.stop());
  const refused = (tag: string) => `${tag} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)`;

  it('a MULTIAPPEND whose second message does not fit stores none; a single one past the quota gets NO and no "+"', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'carol', 'pw');
    const [a, b] = [message(1000, 'a'), message(1001, 'b')];
    // synchronising: the first is taken, the second refused instead of its "+" (the client sends nothing more)
    c.send('m1 APPEND INBOX {1000}\r\n');
    expect(await c.response()).toBe('+ Ready for literal data');
    c.send(`${a} {1001}\r\n`);
    expect(await c.response()).toBe(refused('m1'));
    // non-synchronising: the second message's octets are read and dropped, not taken as commands
    c.send(`m2 APPEND INBOX {1000+}\r\n${a} {1001+}\r\n${b}\r\n`);
    expect((await c.until('m2')).tagged).toBe(refused('m2'));
    expect((await c.command('NOOP')).status).toBe('OK');
    // literal8 messages whose binary part is stored base64-encoded: the literals fit (988 + 988), the stored
    // messages (1314 each) do not both: the store refuses the batch as it places it, and keeps none
    const binary = `${BINARY_HEAD}${'\x01'.repeat(880)}`;
    expect(binary.length).toBe(988);
    c.send(`m3 APPEND INBOX ~{988+}\r\n${binary} ~{988+}\r\n${binary}\r\n`);
    expect((await c.until('m3')).tagged).toBe(refused('m3'));
    expect((await c.command('STATUS INBOX (MESSAGES)')).untagged).toEqual(['* STATUS INBOX (MESSAGES 0)']);
    expect((await c.command('GETQUOTA "User quota"')).untagged).toEqual(['* QUOTA "User quota" (STORAGE 0 2 MESSAGE 0 10)']);
    // both fill it to the last octet; then one octet more is refused before its "+"
    expect((await c.command(`APPEND INBOX {1000+}\r\n${a} {1000+}\r\n${message(1000, 'c')}`)).tagged).toMatch(
      /^a\d+ OK \[APPENDUID \d+ 1:2\] APPEND completed$/,
    );
    c.send('m4 APPEND INBOX {1}\r\n');
    expect(await c.response()).toBe(refused('m4'));
    expect((await c.command('GETQUOTA "User quota"')).untagged).toEqual(['* QUOTA "User quota" (STORAGE 2 2 MESSAGE 2 10)']);
    c.close();
  });

  it('the message count too: a third message is refused before its "+", the two before it dropped', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'dave', 'pw');
    const m = message(100);
    c.send(`d1 APPEND INBOX {100+}\r\n${m} {100+}\r\n${m} {100}\r\n`);
    expect(await c.response()).toBe(refused('d1'));
    expect((await c.command('STATUS INBOX (MESSAGES)')).untagged).toEqual(['* STATUS INBOX (MESSAGES 0)']);
    expect((await c.command(`APPEND INBOX {100+}\r\n${m} {100+}\r\n${m}`)).status).toBe('OK');
    c.close();
  });
});

describe('QUOTA over LMTP: 552 5.2.2, or 452 4.2.2 with quota.fullTempfail (Dovecot quota_full_tempfail)', () => {
  for (const fullTempfail of [false, true]) {
    it(`refuses a message past the quota with ${fullTempfail ? '452 4.2.2' : '552 5.2.2'}, the other recipient gets it`, async () => {
      const server = await startInProcess({ config: { listeners: LISTENERS, quota: { messages: 1, fullTempfail } } });
      try {
        await server.addAccount('jsmith', 'pw');
        await server.addAccount('bob', 'pw');
        await server.deliver('jsmith', 'Subject: first\n\nfills the quota\n');
        const c = await RawLmtp.open({ port: server.portOf('lmtp') });
        await c.reply();
        c.send('LHLO mta.example.net\r\n');
        await c.reply();
        c.send('MAIL FROM:<a@example.net>\r\nRCPT TO:<jsmith@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
        expect(await c.replies(4)).toEqual([
          expect.stringMatching(/^250 /),
          expect.stringMatching(/^250 /),
          expect.stringMatching(/^250 /),
          expect.stringMatching(/^354 /),
        ]);
        c.send('Subject: second\r\n\r\nover\r\n.\r\n');
        const [jsmith, bob] = await c.replies(2);
        expect(jsmith).toBe(`${fullTempfail ? '452 4.2.2' : '552 5.2.2'} <jsmith@example.org>: Quota exceeded (mailbox for user is full)`);
        expect(bob).toMatch(/^250 /);
        c.close();
        expect((await server.ctx.store.quota({ name: 'jsmith', domain: 'example.org' })).usage.messages).toBe(1);
      } finally {
        await server.stop();
      }
    });
  }
});

describe('QUOTA for what POP brings: XTND XMIT and bulletins', () => {
  it('a submission to a full mailbox is refused whole; a bulletin waits for room and follows at a later sign-in', async () => {
    const server = await startInProcess({
      config: {
        listeners: [{ name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 }],
        pop: { bulletinDir: 'bulletins' },
        quota: { messages: 1 },
      },
    });
    try {
      await server.addAccount('alice', 'pw');
      await server.addAccount('bob', 'pw');
      const bob = { name: 'bob', domain: 'example.org' };
      await server.deliver('bob', 'Subject: first\n\nfills the quota\n');
      await mkdir(join(server.dir, 'bulletins'));
      await writeFile(join(server.dir, 'bulletins', '1.note'), 'From: admin@example.org\nSubject: bulletin\n\nPlease note.\n');
      const stat = async (): Promise<string> => {
        const c = await RawPop.signIn(server.port, 'bob', 'pw');
        const answer = await c.command('STAT');
        await c.command('QUIT');
        c.close();
        return answer;
      };
      expect(await stat()).toMatch(/^\+OK 1 /); // signed in; the bulletin did not fit
      await server.ctx.accounts.modify(bob, (r) => {
        r.quota = { messages: 2 };
      });
      expect(await stat()).toMatch(/^\+OK 2 /); // now it did
      const alice = await RawPop.signIn(server.port, 'alice', 'pw');
      expect(await alice.command('XTND XMIT')).toBe('+OK Start sending message.');
      alice.send('From: alice@example.org\r\nTo: bob@example.org\r\nSubject: x\r\n\r\nhi\r\n.\r\n');
      // the reason says whose mailbox is full, not "could not be stored, try again later"
      expect(await alice.line()).toBe('-ERR The mailbox of bob@example.org is full (over quota); nothing was delivered');
      alice.close();
      expect((await server.ctx.store.quota(bob)).usage.messages).toBe(2);
    } finally {
      await server.stop();
    }
  });
});
