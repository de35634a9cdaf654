// sieve/describe.ts prints a run's decisions as Pigeonhole's sieve-test does (`postern sieve test`): each case
// here is a hand-made outcome beside the script that makes Pigeonhole decide the same, and the printed text must
// be sieve-test's own output for that script, byte for byte (run here, never stored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScript, SieveCompileError } from '../../sieve/compile.js';
import { describeCompileError, describeOutcome } from '../../sieve/describe.js';
import type { SieveAction, SieveOutcome } from '../../sieve/outcome.js';
import { hasSieveTest, type Pigeonhole, startPigeonhole } from '../helpers/pigeonhole.js';

const message = Buffer.from(
  'From: Alice <alice@example.org>\nTo: bob@example.com\nSubject: Hello\nMessage-ID: <1@example.org>\n\nHi Bob.\n',
);

const outcome = (actions: SieveAction[], error: string | null = null): SieveOutcome => ({
  actions,
  remember: [],
  edited: null,
  error,
  log: [],
});
const store = (mailbox: string, flags: string[] = [], extra: { create?: boolean; implicit?: boolean } = {}): SieveAction => ({
  kind: 'store',
  mailbox,
  flags,
  create: extra.create ?? false,
  implicit: extra.implicit ?? false,
});

const cases: { name: string; script: string; outcome: SieveOutcome }[] = [
  { name: 'implicit-keep', script: '', outcome: outcome([store('INBOX', [], { implicit: true })]) },
  { name: 'discard', script: 'discard;\n', outcome: outcome([{ kind: 'discard' }]) },
  { name: 'keep', script: 'keep;\n', outcome: outcome([store('INBOX')]) },
  {
    name: 'fileinto-create-flags',
    script: 'require ["fileinto","mailbox","imap4flags"];\nfileinto :create :flags ["\\\\Deleted","bar"] "New/Sub";\n',
    outcome: outcome([store('New/Sub', ['\\Deleted', 'bar'], { create: true })]),
  },
  {
    name: 'implicit-keep-flags',
    script: 'require "imap4flags";\naddflag "\\\\Seen Foo";\n',
    outcome: outcome([store('INBOX', ['\\Seen', 'Foo'], { implicit: true })]),
  },
  {
    name: 'flags-in-dovecot-order',
    script: 'require "imap4flags";\naddflag "Work \\\\Seen \\\\Answered";\n',
    outcome: outcome([store('INBOX', ['Work', '\\Seen', '\\Answered'], { implicit: true })]),
  },
  {
    name: 'copy',
    script:
      'require ["imap4flags","fileinto","copy","mailbox"];\nfileinto :copy :create :flags "x" "New";\nredirect :copy "c@example.net";\n',
    outcome: outcome([
      store('New', ['x'], { create: true }),
      { kind: 'redirect', address: 'c@example.net' },
      store('INBOX', [], { implicit: true }),
    ]),
  },
  {
    name: 'duplicate-tracked',
    script: 'require "duplicate";\nif duplicate { discard; }\n',
    outcome: { ...outcome([store('INBOX', [], { implicit: true })]), remember: [{ key: 'duplicate:0f', seconds: 1_209_600 }] },
  },
  {
    name: 'redirects-and-keep',
    script: 'redirect "carol@example.net";\nredirect "dave@example.net";\nkeep;\n',
    outcome: outcome([
      { kind: 'redirect', address: 'carol@example.net' },
      { kind: 'redirect', address: 'dave@example.net' },
      store('INBOX'),
    ]),
  },
  {
    name: 'reject-multiline',
    script: 'require "reject";\nreject text:\nNot here.\nTry elsewhere.\n.\n;\n',
    outcome: outcome([{ kind: 'reject', reason: 'Not here.\r\nTry elsewhere.\r\n', extended: false }]),
  },
  {
    name: 'vacation',
    script: 'require "vacation";\nvacation :days 7 :subject "Away" :from "me@example.com" :handle "h1" "I am away.";\n',
    outcome: outcome([
      store('INBOX', [], { implicit: true }),
      {
        kind: 'vacation',
        to: 'alice@example.org',
        from: 'me@example.com',
        reply: Buffer.from('From: me@example.com\r\nTo: alice@example.org\r\nSubject: Away\r\n\r\nI am away.\r\n'),
        key: 'h1',
        periodSeconds: 604_800,
      },
    ]),
  },
  {
    name: 'conflict',
    script: 'require ["fileinto","reject"];\nfileinto "Work";\nreject "x";\n',
    outcome: outcome(
      [store('INBOX', [], { implicit: true })],
      'conflict: line 3: error: reject/ereject action conflicts with other action: ' +
        'the store action (conflict: line 2) tries to deliver the message.',
    ),
  },
];

describe.skipIf(!hasSieveTest())('Sieve: postern sieve test prints what sieve-test prints', () => {
  let pigeonhole: Pigeonhole;
  beforeAll(async () => {
    pigeonhole = await startPigeonhole({ parallel: 2 });
  });
  afterAll(async () => {
    await pigeonhole?.stop();
  });

  const ask = (name: string, script: string) => pigeonhole.run({ script, name, message, from: 'alice@example.org', to: 'bob@example.com' });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const reference = await ask(name, c.script);
    if (c.outcome.error === null) {
      expect(describeOutcome(c.outcome)).toBe(reference.printed);
    } else {
      // A failed run: sieve-test prints nothing on stdout and reports on stderr (its "sieve-test(USER): Info: " cut).
      expect(reference.printed).toBe('');
      const lines = reference.stderr
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.replace(/^sieve-test(\([^)]*\))?: \w+: /, ''));
      expect(describeOutcome(c.outcome)).toBe(`${lines.join('\n')}\n`);
    }
  });

  it('a script that does not compile prints the compiler lines and sieve-test verdict', async () => {
    const script = 'require "x-frobnicate";\nkeep;\n';
    const reference = await ask('broken', script);
    expect(reference.compileErrors).not.toBeNull();
    const error = await compileScript(script, { name: 'broken' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SieveCompileError);
    expect(describeCompileError(error as SieveCompileError)).toBe(reference.stderr.replace(/^sieve-test(\([^)]*\))?: \w+: /gm, ''));
  });
});
