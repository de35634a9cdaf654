// SORT, ESORT and THREAD over the in-memory store (RFC 5256, RFC 5267, RFC 5957), byte by byte: every
// sort key on a small mailbox whose order is worked out by hand, the answers' forms, the bad inputs,
// and a SORT after the mailbox changed (the sort-key cache keeps no stale entry). Equality with Dovecot
// on hostile mailboxes is test/interop/imap-sort-dovecot.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

const MESSAGES = [
  'Subject: Re: Lunch\nDate: Thu, 02 Jan 2025 10:00:00 +0000\nFrom: Zed <zed@x.example>\nTo: Amy <amy@x.example>\n' +
    'Message-ID: <l1@x>\nReferences: <l0@x>\n\nsee you\n',
  'Subject: lunch\nDate: Wed, 01 Jan 2025 10:00:00 +0000\nFrom: Yolanda <amy@x.example>\nTo: zed@x.example\nMessage-ID: <l0@x>\n\nnoon?\n',
  'Subject: [team] Re: lunch (fwd)\nDate: Fri, 03 Jan 2025 10:00:00 +0000\nFrom: Bob <bob@x.example>\n' +
    'To: =?utf-8?q?=C3=81lvaro?= <alvaro@x.example>\nMessage-ID: <l2@x>\nReferences: <l0@x>\n\nfyi\n',
  'Subject: Budget\nDate: Wed, 01 Jan 2025 09:00:00 -0200\nFrom: carl@x.example\nTo: Bea <bea@x.example>\nCc: dan@x.example\n' +
    'Message-ID: <b0@x>\n\nnumbers\n',
  'Subject: Re: Budget\nFrom: "Dan" <dan@x.example>\nTo: bea@x.example\nMessage-ID: <b1@x>\nIn-Reply-To: <b0@x>\n\nok\n',
];

describe('IMAP SORT and THREAD', () => {
  let server: InProcessServer;
  let port: Endpoint;
  let c: RawImap;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    port = server.portOf('imap');
    await server.addAccount('sorter', 'secret');
    for (const m of MESSAGES) await server.deliver('sorter', m);
    c = await RawImap.signIn(port, 'sorter', 'secret');
  });
  afterAll(async () => {
    c?.close();
    await server.stop();
  });

  const sorted = async (command: string) => {
    const a = await c.command(command);
    expect(a.status, `${command}: ${a.tagged}`).toBe('OK');
    return a.untagged;
  };

  it('advertises SORT, SORT=DISPLAY, both THREAD algorithms and ESORT once signed in; needs a selected mailbox', async () => {
    const caps = (await c.command('CAPABILITY')).untagged[0];
    for (const cap of ['SORT', 'SORT=DISPLAY', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES', 'ESORT'])
      expect(caps.split(' ')).toContain(cap);
    expect((await c.command('SORT (DATE) UTF-8 ALL')).status).toBe('BAD');
    expect((await c.command('THREAD REFERENCES UTF-8 ALL')).status).toBe('BAD');
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
  });

  it('sorts by every key, REVERSE and several keys, ties by message number', async () => {
    expect(await sorted('SORT (SUBJECT) UTF-8 ALL')).toEqual(['* SORT 4 5 1 2 3']);
    expect(await sorted('SORT (DATE) UTF-8 ALL')).toEqual(['* SORT 2 4 1 3 5']); // 5 has no Date: its arrival
    expect(await sorted('SORT (REVERSE DATE) UTF-8 ALL')).toEqual(['* SORT 5 3 1 4 2']);
    expect(await sorted('SORT (ARRIVAL) UTF-8 ALL')).toEqual(['* SORT 1 2 3 4 5']);
    expect(await sorted('SORT (FROM) UTF-8 ALL')).toEqual(['* SORT 2 3 4 5 1']);
    expect(await sorted('SORT (DISPLAYFROM) UTF-8 ALL')).toEqual(['* SORT 3 4 5 2 1']);
    expect(await sorted('SORT (TO) UTF-8 ALL')).toEqual(['* SORT 3 1 4 5 2']);
    expect(await sorted('SORT (DISPLAYTO) UTF-8 ALL')).toEqual(['* SORT 1 3 4 5 2']); // "Álvaro" after "Amy": A + U+0301
    expect(await sorted('SORT (CC) UTF-8 ALL')).toEqual(['* SORT 1 2 3 5 4']);
    expect(await sorted('SORT (REVERSE CC) UTF-8 ALL')).toEqual(['* SORT 4 1 2 3 5']);
    expect(await sorted('SORT (SUBJECT REVERSE DATE) UTF-8 ALL')).toEqual(['* SORT 5 4 3 1 2']);
    const sizes = (await sorted('SORT (SIZE) UTF-8 ALL'))[0].split(' ').slice(2).map(Number);
    expect([...sizes].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await sorted('UID SORT (REVERSE SUBJECT) US-ASCII FROM x.example NOT CC dan')).toEqual(['* SORT 1 2 3 5']);
    expect(await sorted('SORT (DATE) UTF-8 SUBJECT nothing')).toEqual(['* SORT']);
  });

  it('answers RETURN with ESEARCH in sort order (RFC 5267): MIN, MAX, COUNT, ALL, PARTIAL', async () => {
    const [min] = await sorted('SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL');
    expect(min).toMatch(/^\* ESEARCH \(TAG "a\d+"\) MIN 2 MAX 5 COUNT 5$/);
    expect((await sorted('SORT RETURN (ALL) (SUBJECT) UTF-8 ALL'))[0]).toMatch(/\) ALL 4:5,1:3$/);
    expect((await sorted('SORT RETURN () (DATE) UTF-8 ALL'))[0]).toMatch(/\) ALL 2,4,1,3,5$/);
    expect((await sorted('UID SORT RETURN (PARTIAL 2:3) (DATE) UTF-8 ALL'))[0]).toMatch(/\) UID PARTIAL \(2:3 4,1\)$/);
    expect((await sorted('SORT RETURN (PARTIAL 9:10 COUNT) (DATE) UTF-8 ALL'))[0]).toMatch(/\) PARTIAL \(9:10 NIL\) COUNT 5$/);
  });

  it('threads by REFERENCES and by ORDEREDSUBJECT', async () => {
    expect(await sorted('THREAD REFERENCES UTF-8 ALL')).toEqual(['* THREAD (2 (1)(3))(4 5)']);
    expect(await sorted('UID THREAD REFERENCES UTF-8 NOT SUBJECT budget')).toEqual(['* THREAD (2 (1)(3))']);
    // without 2 (the thread's root) its replies hang under a dummy: "((1)(3))"
    expect(await sorted('THREAD REFERENCES UTF-8 1,3')).toEqual(['* THREAD ((1)(3))']);
    expect(await sorted('THREAD ORDEREDSUBJECT UTF-8 ALL')).toEqual(['* THREAD (2 (1)(3))(4 5)']);
    expect(await sorted('THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing')).toEqual(['* THREAD ']);
  });

  it('refuses bad criteria, algorithms and charsets with BAD or NO [BADCHARSET]', async () => {
    const answer = async (command: string) => (await c.command(command)).tagged.replace(/^a\d+ /, '');
    expect(await answer('SORT (COLOUR) UTF-8 ALL')).toMatch(/^BAD .*COLOUR/);
    expect(await answer('SORT (DATE REVERSE) UTF-8 ALL')).toMatch(/^BAD .*REVERSE/);
    expect(await answer('SORT () UTF-8 ALL')).toMatch(/^BAD /);
    expect(await answer('SORT DATE UTF-8 ALL')).toMatch(/^BAD /);
    expect(await answer('SORT (DATE) UTF-8')).toMatch(/^BAD /);
    expect(await answer('SORT (DATE) KOI8-R ALL')).toMatch(/^NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
    expect(await answer('SORT RETURN (SAVE) (DATE) UTF-8 ALL')).toMatch(/^BAD /);
    expect(await answer('SORT RETURN (PARTIAL 0:4) (DATE) UTF-8 ALL')).toMatch(/^BAD /);
    expect(await answer('THREAD REFS UTF-8 ALL')).toMatch(/^BAD .*REFS/);
    expect(await answer('THREAD REFERENCES KOI8-R ALL')).toMatch(/^NO \[BADCHARSET/);
    expect(await answer('NOOP')).toMatch(/^OK/);
  });

  it('sorts what the mailbox holds now after an expunge and a delivery', async () => {
    expect((await c.command('STORE 2 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK');
    expect((await c.command('EXPUNGE')).status).toBe('OK');
    await server.deliver('sorter', 'Subject: Aardvark\nDate: Tue, 31 Dec 2024 10:00:00 +0000\nFrom: a@x.example\n\nearly\n');
    expect((await c.command('NOOP')).untagged).toContain('* 5 EXISTS');
    expect(await sorted('SORT (DATE) UTF-8 ALL')).toEqual(['* SORT 5 3 1 2 4']);
    expect(await sorted('UID SORT (SUBJECT) UTF-8 ALL')).toEqual(['* SORT 6 4 5 1 3']);
    expect(await sorted('THREAD REFERENCES UTF-8 ALL')).toEqual(['* THREAD (5)(3 4)((1)(2))']);
  });
});

describe('IMAP THREAD and ESORT on internal dates (the shapes of imaptest thread, esort and sort-partial)', () => {
  let server: InProcessServer;
  let c: RawImap;
  const append = async (date: string, header: string) => {
    const message = `${header}\r\n\r\nbody\r\n`;
    const a = await c.command(`APPEND INBOX "${date}" {${Buffer.byteLength(message)}+}\r\n${message}`);
    expect(a.status, a.tagged).toBe('OK');
  };
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('looper', 'secret');
    c = await RawImap.signIn(server.portOf('imap'), 'looper', 'secret');
    // no Date fields: the internal dates order them; 2 and 3 refer to each other through 1
    await append('09-Mar-2011 18:10:00 +0000', 'Message-ID: <one@loop>');
    await append('09-Mar-2011 16:10:00 +0000', 'Message-ID: <two@loop>\r\nReferences: <three@loop> <one@loop>');
    await append('09-Mar-2011 17:10:00 +0000', 'Message-ID: <three@loop>\r\nReferences: <two@loop>');
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
  });
  afterAll(async () => {
    c?.close();
    await server.stop();
  });

  it('threads a reference loop through another message, and again once that message is expunged', async () => {
    expect((await c.command('THREAD REFERENCES US-ASCII ALL')).untagged).toEqual(['* THREAD (3 1 2)']);
    expect((await c.command('SORT RETURN (PARTIAL 3:1) (ARRIVAL) US-ASCII ALL')).untagged[0]).toMatch(/ PARTIAL \(1:3 2:3,1\)$/);
    expect((await c.command('SORT RETURN (PARTIAL 2:9) (REVERSE ARRIVAL) US-ASCII ALL')).untagged[0]).toMatch(/ PARTIAL \(2:9 3,2\)$/);
    for (const bad of ['PARTIAL 1', 'PARTIAL 1:*', 'PARTIAL *:1']) {
      expect((await c.command(`SORT RETURN (${bad}) (ARRIVAL) US-ASCII ALL`)).status).toBe('BAD');
    }
    expect((await c.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK');
    expect((await c.command('EXPUNGE')).status).toBe('OK');
    expect((await c.command('THREAD REFERENCES US-ASCII ALL')).untagged).toEqual(['* THREAD (2 1)']);
  });
});
