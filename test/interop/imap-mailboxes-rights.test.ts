// IMAP mailbox commands and rights (issue 20), over raw sockets, with a real Dovecot 2.3 on the same
// tree where Dovecot defines the behaviour:
//  - DELETE of a mailbox with children deletes it and keeps them; it is then listed \Noselect (RFC 9051
//    6.3.4). Dovecot deletes it too (it lists such a level without \Noselect, but will not open it).
//  - DELETE of the selected mailbox: OK, then BYE (Dovecot: OK, then "* BYE Selected mailbox was deleted").
//  - the selected mailbox deleted or renamed elsewhere (another IMAP session, the CLI, Dovecot): BYE at
//    the next look at the mailbox, never NO [SERVERBUG] (Dovecot: "* BYE IMAP session state is
//    inconsistent"). POP cannot delete or rename a mailbox, so it is not among the deleters.
//  - LSUB "" "%" lists the unsubscribed parent of a subscribed child \Noselect (RFC 3501 6.3.9), as Dovecot.
//  - a name that is not valid modified UTF-7 gets NO (LIST: an empty answer), as Dovecot.
//  - CREATE INBOX/x, inbox/x, Inbox/y: one INBOX with x and y below it, as Dovecot.
//  - an over-long name: NO [LIMIT].
//  - rights (RFC 4314 section 4): RENAME needs k where the mailbox goes; a mailbox made in another's
//    tree inherits the ACL of the level above (as Dovecot's ACL plugin), so whoever holds x may delete it.
//  - a mailbox the user may not see and a missing one are refused with the same words in the same time.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { type ImapAnswer, RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { encodeMutf7 } from '../../lib/mutf7.js';
import { mannWhitneyZ, median } from '../helpers/stats.js';

const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;

type Side = 'postern' | 'dovecot';

function signIn(side: Side, user: string): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, user, `"${PASSWORD}"`);
}

async function ok(c: RawImap, command: string): Promise<ImapAnswer> {
  const answer = await c.command(command);
  if (answer.status !== 'OK') throw new Error(`${command.slice(0, 80)}: ${answer.tagged}`);
  return answer;
}

/** Sends a command and reads every line until its tagged answer or until the server closes. */
async function toEnd(c: RawImap, command: string): Promise<{ lines: string[]; closed: boolean }> {
  const tag = c.nextTag();
  c.send(`${tag} ${command}\r\n`);
  const lines: string[] = [];
  for (;;) {
    let line: string;
    try {
      line = await c.response(5000);
    } catch (err) {
      if (/connection closed/.test(String(err))) return { lines, closed: true };
      throw err;
    }
    lines.push(line);
    if (line.startsWith(`${tag} `)) return { lines, closed: false };
  }
}

/** The LIST/LSUB lines as "attributes name", attributes sorted, lines sorted. */
function listed(answer: ImapAnswer): string[] {
  return answer.untagged
    .map((l) => /^\* (?:LIST|LSUB) \(([^)]*)\) "\/" "?([^"]*)"?$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1].split(' ').filter(Boolean).sort().join(' ')} ${m[2]}`)
    .sort();
}

const message = (subject: string) => `From: a@example.net\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`;

async function append(c: RawImap, mailbox: string, subject: string): Promise<void> {
  const m = message(subject);
  await ok(c, `APPEND ${mailbox} {${Buffer.byteLength(m)}+}\r\n${m}`);
}

beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  // pat is served by Postern, dan by Dovecot, in the side-by-side comparisons; alice, bob and carol
  // share mailboxes (Postern only: this Dovecot has no ACL plugin)
  for (const user of ['pat', 'dan', 'alice', 'bob', 'carol']) await server.addAccount(user, PASSWORD);
  for (const user of ['pat', 'dan']) await shareWithDovecot(server.dir, join(accounts, user));
  dovecot = await startDovecot(
    ['pat', 'dan'].map((name) => ({ name, password: PASSWORD })),
    accounts,
  );
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

const USER: Record<Side, string> = { postern: 'pat', dovecot: 'dan' };

describe('DELETE', () => {
  it('of a mailbox with children deletes its messages and keeps the children; it is listed \\Noselect', async () => {
    const outcome: Record<string, unknown> = {};
    for (const side of ['postern', 'dovecot'] as const) {
      const c = await signIn(side, USER[side]);
      for (const name of ['tree', 'tree/b', 'tree/b/c']) await ok(c, `CREATE ${name}`);
      await append(c, 'tree', 'in tree');
      await append(c, 'tree/b/c', 'in c');
      const deleted = await c.command('DELETE tree');
      const select = await c.command('SELECT tree');
      const status = await c.command('STATUS tree/b/c (MESSAGES)');
      outcome[side] = { deleted: deleted.status, select: select.status, status: status.untagged };
      if (side === 'postern') {
        // Dovecot lists the emptied level without \Noselect (yet refuses to open it); the RFC's answer is \Noselect
        expect(listed(await ok(c, 'LIST "" "tree*"'))).toEqual([
          '\\HasChildren \\Noselect tree',
          '\\HasChildren tree/b',
          '\\HasNoChildren tree/b/c',
        ]);
      }
      c.close();
    }
    expect(outcome.postern).toEqual({ deleted: 'OK', select: 'NO', status: ['* STATUS tree/b/c (MESSAGES 1)'] });
    expect(outcome.postern).toEqual(outcome.dovecot);
    // Dovecot, over the tree Postern left, sees the same: a level that is no mailbox, the children intact
    const d = await signIn('dovecot', 'pat');
    expect(listed(await ok(d, 'LIST "" "tree*"'))).toEqual([
      '\\HasChildren \\Noselect tree',
      '\\HasChildren tree/b',
      '\\HasNoChildren tree/b/c',
    ]);
    d.close();
    // made again, it is a new, empty mailbox
    const c = await signIn('postern', 'pat');
    await ok(c, 'CREATE tree');
    expect((await ok(c, 'STATUS tree (MESSAGES)')).untagged).toEqual(['* STATUS tree (MESSAGES 0)']);
    c.close();
  });

  it('of the selected mailbox: OK, then BYE, as in Dovecot', async () => {
    for (const side of ['postern', 'dovecot'] as const) {
      const c = await signIn(side, USER[side]);
      await ok(c, 'CREATE selected-here');
      await append(c, 'selected-here', 'one');
      await ok(c, 'SELECT selected-here');
      const deleted = await toEnd(c, 'DELETE selected-here');
      expect(deleted.lines.at(-1), side).toMatch(/^a\d+ OK /);
      const next = deleted.closed ? deleted : await toEnd(c, 'NOOP');
      const all = [...deleted.lines, ...next.lines];
      expect(
        all.filter((l) => l.startsWith('* BYE ')),
        side,
      ).toHaveLength(1);
      expect(next.closed, side).toBe(true);
      expect(all.join('\n'), side).not.toMatch(/SERVERBUG/);
      c.close();
    }
  });
});

describe('the selected mailbox deleted or renamed by another session', () => {
  /** Selects `name` in a session of `viewer`, lets `change` delete or rename it, and returns what the next commands got. */
  async function afterChange(viewer: Side, name: string, change: () => Promise<void>): Promise<{ lines: string[]; closed: boolean }> {
    const setup = await signIn(viewer, 'pat');
    await ok(setup, `CREATE ${name}`);
    await append(setup, name, 'one');
    setup.close();
    const c = await signIn(viewer, 'pat');
    await ok(c, `SELECT ${name}`);
    await change();
    const lines: string[] = [];
    for (const command of ['NOOP', 'FETCH 1:* FLAGS', 'NOOP']) {
      const answer = await toEnd(c, command);
      lines.push(...answer.lines);
      if (answer.closed) return { lines, closed: true };
    }
    c.close();
    return { lines, closed: false };
  }

  const postern = (command: string) => async () => {
    const other = await signIn('postern', 'pat');
    await ok(other, command);
    other.close();
  };
  const dovecotDoes = (command: string) => async () => {
    const other = await signIn('dovecot', 'pat');
    await ok(other, command);
    other.close();
  };
  const cli =
    (...args: string[]) =>
    async () => {
      const r = await server.cli(['mailbox', ...args]);
      expect(r.code, r.stderr).toBe(0);
    };

  for (const [what, name, change] of [
    ['DELETE in another Postern session', 'gone-1', postern('DELETE gone-1')],
    ['RENAME in another Postern session', 'gone-2', postern('RENAME gone-2 moved-2')],
    ['postern mailbox delete', 'gone-3', cli('delete', 'pat', 'gone-3')],
    ['postern mailbox rename', 'gone-4', cli('rename', 'pat', 'gone-4', 'moved-4')],
    ['DELETE in Dovecot', 'gone-5', dovecotDoes('DELETE gone-5')],
    ['RENAME in Dovecot', 'gone-6', dovecotDoes('RENAME gone-6 moved-6')],
    [
      'DELETE, then CREATE again, in Dovecot',
      'gone-7',
      async () => {
        await dovecotDoes('DELETE gone-7')();
        await dovecotDoes('CREATE gone-7')();
      },
    ],
  ] as const) {
    it(`${what}: BYE, never NO [SERVERBUG]`, async () => {
      const { lines, closed } = await afterChange('postern', name, change);
      expect(lines.join('\n')).not.toMatch(/SERVERBUG/);
      expect(lines.filter((l) => l.startsWith('* BYE '))).toHaveLength(1);
      expect(closed).toBe(true);
    });
  }

  it('in IDLE: BYE within a few seconds of another session deleting it', async () => {
    const setup = await signIn('postern', 'pat');
    await ok(setup, 'CREATE idle-gone');
    const c = await signIn('postern', 'pat');
    await ok(c, 'SELECT idle-gone');
    c.send('i1 IDLE\r\n');
    expect(await c.response()).toMatch(/^\+ /);
    const t0 = Date.now();
    await ok(setup, 'DELETE idle-gone');
    const lines: string[] = [];
    for (;;) {
      try {
        lines.push(await c.response(10_000));
      } catch (err) {
        expect(String(err)).toMatch(/connection closed/);
        break;
      }
    }
    expect(lines.filter((l) => l.startsWith('* BYE '))).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(5000); // the folder watch sees it go; imap.idleCheckInterval is 30 s
    setup.close();
  });

  it('Dovecot answers the same way (BYE) when Postern deletes or renames its selected mailbox', async () => {
    for (const [name, command] of [
      ['dgone-1', 'DELETE dgone-1'],
      ['dgone-2', 'RENAME dgone-2 dmoved-2'],
    ]) {
      const { lines, closed } = await afterChange('dovecot', name, postern(command));
      expect(lines.filter((l) => l.startsWith('* BYE '))).toHaveLength(1);
      expect(closed).toBe(true);
    }
  });
});

describe('LSUB', () => {
  it('lists the unsubscribed parent of a subscribed child \\Noselect, as Dovecot', async () => {
    const answers: Record<string, string[][]> = {};
    for (const side of ['postern', 'dovecot'] as const) {
      const c = await signIn(side, USER[side]);
      await ok(c, 'CREATE subs/child');
      await ok(c, 'CREATE subs2');
      await ok(c, 'CREATE subs2/kid');
      await ok(c, 'SUBSCRIBE subs/child');
      await ok(c, 'SUBSCRIBE subs2/kid');
      await ok(c, 'SUBSCRIBE subs2');
      answers[side] = [];
      for (const pattern of ['"" "subs%"', '"" "subs*"', '"subs/" "%"', '"" "%/child"'])
        answers[side].push(listed(await ok(c, `LSUB ${pattern}`)));
      c.close();
    }
    expect(answers.postern[0]).toEqual([' subs2', '\\Noselect subs']);
    expect(answers.postern).toEqual(answers.dovecot);
  });
});

describe('a name that is not valid modified UTF-7', () => {
  it('gets NO (not BAD) from the commands that take a mailbox, and LIST answers nothing, as Dovecot', async () => {
    const answers: Record<string, string[]> = {};
    for (const side of ['postern', 'dovecot'] as const) {
      const c = await signIn(side, USER[side]);
      answers[side] = [];
      for (const name of ['"&Jjo"', '"&AGE-"', '"x&2D3-"', '"&-&"']) {
        for (const command of [
          `SELECT ${name}`,
          `EXAMINE ${name}`,
          `STATUS ${name} (MESSAGES)`,
          `CREATE ${name}`,
          `DELETE ${name}`,
          `RENAME ${name} other`,
          `SUBSCRIBE ${name}`,
          `UNSUBSCRIBE ${name}`,
        ]) {
          const a = await c.command(command);
          answers[side].push(`${command} ${a.status}`);
        }
        const list = await c.command(`LIST "" ${name}`);
        answers[side].push(`LIST ${name} ${list.status} ${list.untagged.length}`);
        const lsub = await c.command(`LSUB "" ${name}`);
        answers[side].push(`LSUB ${name} ${lsub.status} ${lsub.untagged.length}`);
      }
      c.close();
    }
    expect(answers.postern.filter((a) => a.endsWith(' BAD'))).toEqual([]);
    expect(answers.postern).toContain('SELECT "&Jjo" NO');
    expect(answers.postern).toContain('LIST "&Jjo" OK 0');
    expect(answers.postern).toEqual(answers.dovecot);
  });
});

describe('mailbox names', () => {
  it('INBOX/x, inbox/x and Inbox/y make one INBOX with two mailboxes below it, as Dovecot', async () => {
    const answers: Record<string, unknown[]> = {};
    for (const side of ['postern', 'dovecot'] as const) {
      const c = await signIn(side, USER[side]);
      answers[side] = [
        (await c.command('CREATE INBOX/x')).status,
        (await c.command('CREATE inbox/x')).tagged.replace(/^\S+ (\S+) (\[\w+\])?.*/, '$1 $2'),
        (await c.command('CREATE Inbox/y')).status,
        listed(await ok(c, 'LIST "" "INBOX*"')),
        listed(await ok(c, 'LIST "" "inbox/%"')),
        (await c.command('SELECT inbox/Y')).status, // only INBOX is case-insensitive
        (await c.command('SELECT iNbOx/y')).status,
      ];
      c.close();
    }
    expect(answers.postern).toEqual([
      'OK',
      'NO [ALREADYEXISTS]',
      'OK',
      ['\\HasChildren INBOX', '\\HasNoChildren INBOX/x', '\\HasNoChildren INBOX/y'],
      ['\\HasNoChildren INBOX/x', '\\HasNoChildren INBOX/y'],
      'NO',
      'OK',
    ]);
    expect(answers.postern).toEqual(answers.dovecot);
  });

  it('a folder an earlier version made for "inbox/x" (.inbox.x) is adopted as INBOX/x, its mail kept', async () => {
    const maildir = join(server.dataDir, 'accounts', 'example.org', 'carol', 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, '.inbox.legacy', sub), { recursive: true });
    await writeFile(join(maildir, '.inbox.legacy', 'cur', '1700000000.M1P1Q1.host:2,S'), message('kept'));
    const c = await signIn('postern', 'carol');
    expect(listed(await ok(c, 'LIST "" "INBOX*"'))).toEqual(['\\HasChildren INBOX', '\\HasNoChildren INBOX/legacy']);
    expect((await ok(c, 'STATUS inbox/legacy (MESSAGES)')).untagged).toEqual(['* STATUS INBOX/legacy (MESSAGES 1)']);
    c.close();
  });

  it('an over-long name is NO [LIMIT], not a server error', async () => {
    const c = await signIn('postern', 'pat');
    // three levels of 60 CJK characters: 182 characters, but 489 octets as one Maildir++ folder name
    const cjk = encodeMutf7(Array.from({ length: 3 }, () => '\u6f22'.repeat(60)).join('/'));
    for (const command of [
      `CREATE ${'l'.repeat(300)}`,
      `CREATE ${'m/'.repeat(150)}z`,
      `CREATE ${'n'.repeat(65)}`,
      `CREATE "${cjk}"`,
      `RENAME tree "${cjk}"`,
      `SELECT "${cjk}"`,
    ]) {
      const answer = await c.command(command);
      expect(answer.tagged, command.slice(0, 40)).toMatch(/^\S+ NO \[LIMIT\] /);
    }
    c.close();
  });
});

describe('rights (RFC 4314 section 4)', () => {
  beforeAll(async () => {
    const bob = await signIn('postern', 'bob');
    for (const name of ['Admin', 'Private', 'Shared', 'Hidden']) await ok(bob, `CREATE ${name}`);
    await ok(bob, 'SETACL Admin alice lrx');
    await ok(bob, 'SETACL Private alice lr'); // no k: alice may not make mailboxes below it
    await ok(bob, 'SETACL Shared alice lrkx');
    await ok(bob, 'SETACL Shared carol lrx');
    bob.close();
  });

  it('RENAME needs k on the new parent', async () => {
    const alice = await signIn('postern', 'alice');
    const refused = await alice.command('RENAME "~bob/Admin" "~bob/Private/moved"');
    expect(refused.tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    const top = await alice.command('RENAME "~bob/Admin" "~bob/Toplevel"');
    expect(top.tagged).toMatch(/^\S+ NO \[NOPERM\] /);
    const bob = await signIn('postern', 'bob');
    expect(listed(await ok(bob, 'LIST "" "*"'))).toContain('\\HasNoChildren Admin');
    await ok(alice, 'RENAME "~bob/Admin" "~bob/Shared/moved"');
    expect(listed(await ok(bob, 'LIST "" "Shared*"'))).toEqual(['\\HasChildren Shared', '\\HasNoChildren Shared/moved']);
    alice.close();
    bob.close();
  });

  it("a mailbox made in another user's tree inherits the rights above it: whoever holds x there may delete it", async () => {
    const alice = await signIn('postern', 'alice');
    await ok(alice, 'CREATE "~bob/Shared/by-alice"');
    await ok(alice, 'CREATE "~bob/Shared/by-alice-2"');
    expect((await ok(alice, 'MYRIGHTS "~bob/Shared/by-alice"')).untagged).toEqual(['* MYRIGHTS ~bob/Shared/by-alice lrkx']);
    await ok(alice, 'DELETE "~bob/Shared/by-alice"');
    const carol = await signIn('postern', 'carol');
    await ok(carol, 'DELETE "~bob/Shared/by-alice-2"');
    expect((await carol.command('CREATE "~bob/Shared/by-carol"')).tagged).toMatch(/^\S+ NO \[NOPERM\] /); // carol has no k
    const bob = await signIn('postern', 'bob');
    expect(listed(await ok(bob, 'LIST "" "Shared/by-*"'))).toEqual([]);
    for (const c of [alice, carol, bob]) c.close();
  });
});

describe('a hidden mailbox and a missing one are refused alike', () => {
  const SAMPLES = 120; // per name and command
  const WORKERS = 4;

  for (const [verb, command] of [
    ['STATUS', (name: string) => `STATUS "${name}" (MESSAGES)`],
    ['SELECT', (name: string) => `SELECT "${name}"`],
    ['GETACL', (name: string) => `GETACL "${name}"`],
  ] as const) {
    it(`${verb}: the same words, in the same time`, async () => {
      const times: Record<string, number[]> = { hidden: [], missing: [] };
      const words = new Set<string>();
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          const c = await signIn('postern', 'alice');
          for (let i = 0; i < SAMPLES / WORKERS; i++) {
            // interleaved, in alternating order, so that load on the machine falls on both alike. The workers
            // run in step (each answer comes at the same 20 ms), and the server reads a line only once the
            // lines that came with it have been worked on: were they all on the same name at once, the
            // others' work would count in each one's time. Half of them start with each name.
            const order = (i + w) % 2 === 0 ? (['hidden', 'missing'] as const) : (['missing', 'hidden'] as const);
            for (const which of order) {
              const name = which === 'hidden' ? '~bob/Hidden' : '~bob/Missing';
              const t0 = process.hrtime.bigint();
              const answer = await c.command(command(name));
              times[which].push(Number(process.hrtime.bigint() - t0) / 1e6);
              words.add(answer.tagged.replace(/^\S+ /, ''));
              expect(answer.untagged.filter((l) => !l.startsWith('* OK [CLOSED]'))).toEqual([]);
            }
          }
          c.close();
        }),
      );
      const z = mannWhitneyZ(times.hidden, times.missing);
      console.log(
        `${verb}: median hidden ${median(times.hidden).toFixed(3)} ms, missing ${median(times.missing).toFixed(3)} ms, Mann-Whitney z ` +
          `= ${z.toFixed(2)} (n = ${SAMPLES} + ${SAMPLES})`,
      );
      expect([...words]).toEqual(['NO [NONEXISTENT] No such mailbox']);
      expect(Math.abs(median(times.hidden) - median(times.missing))).toBeLessThan(1);
      expect(Math.abs(z)).toBeLessThan(4);
    });
  }
});
