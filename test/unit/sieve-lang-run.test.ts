// Running Sieve scripts: each command, test and extension against a message, the RFC examples, the implicit
// keep and Pigeonhole's rules for duplicate and conflicting actions, the limits, and the multiscript sequence.
// Where an expectation is Pigeonhole's own choice, sieve-test printed the same for the same script.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve scripts write variables as ${name}
import { describe, expect, it } from 'vitest';
import { compileScript } from '../../sieve/compile.js';
import type { SieveAction, SieveOutcome, SieveRunInput } from '../../sieve/outcome.js';
import { runScripts } from '../../sieve/run.js';

const MESSAGE = [
  'Return-Path: <sender@example.com>',
  'From: "Alice Example" <alice+lists@Example.COM>',
  'To: rcpt@example.com, Bob <bob@example.org>',
  'Cc: undisclosed-recipients:;',
  'Subject: =?UTF-8?B?SMOpbGxvIHdvcmxk?= test',
  'Date: Tue, 1 Dec 2026 10:20:30 +0100',
  'Message-ID: <abc@example.com>',
  'X-Priority: 10',
  'X-Priority: 3',
  'Content-Type: multipart/alternative; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello body text with Money',
  '--b1',
  'Content-Type: text/html',
  '',
  '<p>html part</p>',
  '--b1--',
  '',
].join('\r\n');

const input = (over: Partial<SieveRunInput> = {}): SieveRunInput => ({
  message: Buffer.from(MESSAGE),
  envelope: { from: 'sender@example.com', to: 'rcpt+box@example.com' },
  ownAddresses: ['rcpt@example.com'],
  mailboxes: ['INBOX', 'Junk'],
  environment: { location: 'MDA', phase: 'during', name: 'Postern' },
  now: new Date('2026-12-06T12:00:00Z'),
  ...over,
});

const LIMITS = { maxActions: 32, maxRedirects: 4 };

async function run(
  scripts: string | string[],
  over: Partial<SieveRunInput> = {},
  seen: (key: string) => Promise<boolean> = async () => false,
  limits = LIMITS,
): Promise<SieveOutcome> {
  const list = Array.isArray(scripts) ? scripts : [scripts];
  const compiled = await Promise.all(list.map((s, i) => compileScript(s, { name: `s${i}` })));
  return runScripts(compiled, input(over), { seen }, limits);
}

/** The actions in a short form: "store:INBOX", "store:A[\\Seen]", "discard", "redirect:x@y", "reject:why". */
function brief(o: SieveOutcome): string[] {
  return o.actions.map((a: SieveAction) => {
    switch (a.kind) {
      case 'store':
        return `${a.implicit ? 'keep' : 'store'}:${a.mailbox}${a.flags.length ? `[${a.flags.join(' ')}]` : ''}${a.create ? '+create' : ''}`;
      case 'redirect':
        return `redirect:${a.address}`;
      case 'reject':
        return `${a.extended ? 'ereject' : 'reject'}:${a.reason}`;
      case 'vacation':
        return `vacation:${a.to}`;
      default:
        return a.kind;
    }
  });
}

const acts = async (script: string, over: Partial<SieveRunInput> = {}) => brief(await run(script, over));
/** Whether the script's test matched: it discards when it did. */
const matched = async (requires: string, test: string) =>
  (await acts(`${requires === '[]' ? '' : `require ${requires};`}\nif ${test} { discard; }`)).includes('discard');

describe('core commands (RFC 5228 section 4) and the implicit keep (section 2.10.2)', () => {
  it('keeps implicitly when nothing is done', async () => {
    expect(await acts('')).toEqual(['keep:INBOX']);
  });
  it('fileinto cancels the implicit keep; :copy does not (RFC 3894)', async () => {
    expect(await acts('require "fileinto"; fileinto "A";')).toEqual(['store:A']);
    expect(await acts('require ["fileinto","copy"]; fileinto :copy "A";')).toEqual(['store:A', 'keep:INBOX']);
  });
  it('stores once per folder: fileinto twice, keep twice, fileinto "INBOX" and keep', async () => {
    expect(await acts('require "fileinto"; fileinto "A"; fileinto "A"; keep; keep;')).toEqual(['store:A', 'store:INBOX']);
    expect(await acts('require "fileinto"; fileinto "inbox"; keep;')).toEqual(['store:INBOX']);
  });
  it('redirect cancels the keep, once per address, :copy keeps', async () => {
    expect(await acts('redirect "a@b.c"; redirect "A@b.c";')).toEqual(['redirect:a@b.c']);
    expect(await acts('require "copy"; redirect :copy "a@b.c";')).toEqual(['redirect:a@b.c', 'keep:INBOX']);
  });
  it('discard cancels only the implicit keep', async () => {
    expect(await acts('discard;')).toEqual(['discard']);
    expect(await acts('require "fileinto"; discard; fileinto "A";')).toEqual(['discard', 'store:A']);
  });
  it('stop ends the script; the implicit keep stays', async () => {
    expect(await acts('require "fileinto"; stop; fileinto "A";')).toEqual(['keep:INBOX']);
  });
  it('if / elsif / else take the first true branch', async () => {
    const s = (t: string) => `require "fileinto"; if ${t} { fileinto "1"; } elsif true { fileinto "2"; } else { fileinto "3"; }`;
    expect(await acts(s('true'))).toEqual(['store:1']);
    expect(await acts(s('false'))).toEqual(['store:2']);
    expect(await acts('require "fileinto"; if false {} elsif false {} else { fileinto "3"; }')).toEqual(['store:3']);
  });
});

describe('tests (RFC 5228 section 5)', () => {
  it('header: decoded encoded words, :contains, :is, case-insensitive by default', async () => {
    expect(await matched('[]', 'header :contains "subject" "héllo"')).toBe(true);
    expect(await matched('[]', 'header :is "SUBJECT" "Héllo world test"')).toBe(true);
    expect(await matched('[]', 'header :comparator "i;octet" :contains "subject" "HÉLLO"')).toBe(false);
  });
  it('address parts and subaddress (RFC 5233)', async () => {
    expect(await matched('[]', 'address :localpart :is "from" "alice+lists"')).toBe(true);
    expect(await matched('[]', 'address :domain :is "from" "example.com"')).toBe(true);
    expect(await matched('"subaddress"', 'address :user :is "from" "ALICE"')).toBe(true);
    expect(await matched('"subaddress"', 'address :detail "from" "lists"')).toBe(true);
    expect(await matched('[]', 'address :all :is "to" "bob@example.org"')).toBe(true);
  });
  it('envelope (RFC 5228 section 5.4) with the recipient detail', async () => {
    expect(await matched('["envelope","subaddress"]', 'envelope :detail "to" "box"')).toBe(true);
    expect(await matched('["envelope"]', 'envelope :domain "from" "example.com"')).toBe(true);
    expect(await matched('["envelope"]', 'envelope :is "from" ""')).toBe(false);
    expect(await acts('require "envelope"; if envelope :is "from" "" { discard; }', { envelope: { from: '', to: 'r@x' } })).toEqual([
      'discard',
    ]);
  });
  it('envelope "to" is the original recipient when there is one (as Pigeonhole)', async () => {
    const env = { envelope: { from: 'a@b.c', to: 'bob@example.com', originalTo: 'team@example.com' } };
    expect(await acts('require "envelope"; if envelope :is "to" "team@example.com" { discard; }', env)).toEqual(['discard']);
  });
  it('redirect to a mailbox with a display name goes to its address', async () => {
    expect(await acts('redirect "Carol <carol@example.net>";')).toEqual(['redirect:carol@example.net']);
  });
  it('exists, size, allof, anyof, not, true, false', async () => {
    expect(await matched('[]', 'exists ["from","x-nope"]')).toBe(false);
    expect(await matched('[]', 'exists ["from","date"]')).toBe(true);
    expect(await matched('[]', 'size :over 100')).toBe(true);
    expect(await matched('[]', 'size :under 1K')).toBe(true);
    expect(await matched('[]', 'allof(true, not false)')).toBe(true);
    expect(await matched('[]', 'anyof(false, false)')).toBe(false);
  });
  it(':matches wildcards, :index/:last (RFC 5260 section 6)', async () => {
    expect(await matched('[]', 'header :matches "message-id" "<*@?xample.com>"')).toBe(true);
    expect(await matched('"index"', 'header :index 2 :is "x-priority" "3"')).toBe(true);
    expect(await matched('"index"', 'header :index 1 :last :is "x-priority" "3"')).toBe(true);
    expect(await matched('"index"', 'header :index 1 :is "x-priority" "3"')).toBe(false);
  });
});

describe('comparators (RFC 4790) and relational (RFC 5231)', () => {
  it('i;ascii-numeric compares numbers; no digits is infinity', async () => {
    const r = '["relational","comparator-i;ascii-numeric"]';
    expect(await matched(r, 'header :value "lt" :comparator "i;ascii-numeric" "x-priority" "5"')).toBe(true);
    expect(await matched(r, 'header :value "gt" :comparator "i;ascii-numeric" "subject" "999999"')).toBe(true);
    expect(await matched(r, 'header :count "eq" :comparator "i;ascii-numeric" "x-priority" "2"')).toBe(true);
    // the empty group is one invalid address, as Pigeonhole counts it
    expect(await matched(r, 'address :count "eq" :comparator "i;ascii-numeric" ["to","cc"] "3"')).toBe(true);
  });
  it(':value with i;ascii-casemap orders text', async () => {
    expect(await matched('"relational"', 'header :value "gt" "subject" "HA"')).toBe(true);
  });
});

describe('regex (Pigeonhole: POSIX extended)', () => {
  it('matches with POSIX classes and sets match variables', async () => {
    expect(await matched('"regex"', 'header :regex "message-id" "^<[[:alpha:]]+@"')).toBe(true);
    expect(
      await acts('require ["regex","variables","fileinto"]; if header :regex "from" "([a-z]+)\\\\+([a-z]+)@" { fileinto "${2}-${1}"; }'),
    ).toEqual(['store:lists-alice']);
  });
  it('a backslash in a bracket is literal (POSIX)', async () => {
    expect(await matched('"regex"', 'header :regex "subject" "^[\\\\]"')).toBe(false);
  });
});

describe('variables (RFC 5229)', () => {
  it('expands names case-insensitively; unknown names are empty; malformed references stay', async () => {
    expect(await acts('require ["variables","fileinto"]; set "a" "X"; fileinto "${A}-${a}-${unknown}-${1}-${bad-name}-${";')).toEqual([
      'store:X-X---${bad-name}-${',
    ]);
  });
  it('a reference in an unknown namespace is empty', async () => {
    expect(await acts('require ["variables","fileinto"]; fileinto "v${foo.bar}";')).toEqual(['store:v']);
  });
  it('modifiers apply by precedence (section 4.1)', async () => {
    expect(
      await acts(
        'require ["variables","fileinto"]; set :upperfirst :lower "a" "hELLO"; set :quotewildcard "b" "a*b?"; set :length "c" ' +
          '"${a}${b}"; fileinto "${a}|${b}|${c}";',
      ),
    ).toEqual(['store:Hello|a\\*b\\?|11']);
  });
  it(':matches sets ${0}..${N}, the first * as short as possible (section 3.2)', async () => {
    expect(await acts('require ["variables","fileinto"]; if header :matches "from" "*<*@*>" { fileinto "${1}|${2}|${3}|${4}"; }')).toEqual([
      'store:"Alice Example" |alice+lists|Example.COM|',
    ]);
    expect(await acts('require ["variables","fileinto"]; if string :matches "aXbXc" "*X*" { fileinto "${1}/${2}"; }')).toEqual([
      'store:a/bXc',
    ]);
    expect(
      await acts('require ["variables","fileinto"]; if address :matches :localpart "from" "?LICE+*" { fileinto "${1}|${2}"; }'),
    ).toEqual(['store:a|lists']);
  });
  it('the string test compares with i;octet unless told (Pigeonhole), :upper changes ASCII letters only', async () => {
    expect(await matched('"variables"', 'string :is "a" "A"')).toBe(false);
    expect(await matched('"variables"', 'string :comparator "i;ascii-casemap" :matches "axxb" "A*B"')).toBe(true);
    expect(await acts('require ["variables","fileinto"]; set :upper "a" "héllo"; fileinto "${a}";')).toEqual(['store:HéLLO']);
  });
  it('string :count counts the strings that are not empty (section 5)', async () => {
    expect(await matched('["variables","relational"]', 'string :count "eq" ["a", "", "b"] "2"')).toBe(true);
  });
  it('cuts a value at 4096 octets', async () => {
    const o = await run(
      'require ["variables","fileinto"]; set "a" "0123456789abcdef"; set "b" "${a}${a}${a}${a}${a}${a}${a}${a}"; set "c" ' +
        '"${b}${b}${b}${b}${b}${b}${b}${b}"; set "d" "${c}${c}${c}${c}${c}"; set :length "n" "${d}"; fileinto "${n}";',
    );
    expect(brief(o)).toEqual(['store:4096']);
  });
});

describe('imap4flags (RFC 5232)', () => {
  it('the internal variable flags keep, fileinto and the implicit keep', async () => {
    expect(await acts('require ["imap4flags","fileinto","copy"]; addflag "\\\\seen foo"; fileinto :copy "A";')).toEqual([
      'store:A[\\Seen foo]',
      'keep:INBOX[\\Seen foo]',
    ]);
    expect(await acts('require ["imap4flags"]; setflag "a"; addflag ["b","A"]; removeflag "a"; keep;')).toEqual(['store:INBOX[b]']);
  });
  it(':flags replaces the internal variable for one action; the later store into a folder wins', async () => {
    expect(await acts('require ["imap4flags","fileinto"]; fileinto :flags "\\\\Seen" "A"; fileinto :flags "\\\\Flagged" "A";')).toEqual([
      'store:A[\\Flagged]',
    ]);
  });
  it('flag variables and hasflag', async () => {
    expect(
      await acts(
        'require ["imap4flags","fileinto","variables"]; setflag "v" "\\\\Seen b"; addflag "v" ["c", "B"]; removeflag "v" "c"; if ' +
          'hasflag :is "v" "b" {fileinto "hasb";} fileinto :flags "${v}" "F";',
      ),
    ).toEqual(['store:hasb', 'store:F[\\Seen b]']);
  });
});

describe('reject and ereject (RFC 5429) and their conflicts', () => {
  it('reject cancels the keep; with discard both are listed', async () => {
    expect(await acts('require "reject"; reject "no";')).toEqual(['reject:no']);
    expect(await acts('require "reject"; discard; reject "b";')).toEqual(['discard', 'reject:b']);
    expect(await acts('require "ereject"; ereject "no";')).toEqual(['ereject:no']);
  });
  it('reject with a store, a redirect, a vacation or another reject is a run-time error: keep', async () => {
    const o = await run('require ["reject","fileinto"]; reject "no"; fileinto "A";');
    expect(brief(o)).toEqual(['keep:INBOX']);
    expect(o.error).toBe(
      's0: line 1: error: reject/ereject action conflicts with other action: the store action (s0: line 1) tries to deliver the message.',
    );
    expect((await run('require "reject"; keep;\nreject "x";')).error).toContain('the store action (s0: line 1) tries to deliver');
    expect((await run('require "reject"; reject "x"; redirect "a@b.c";')).error).toContain('the redirect action');
    expect((await run('require ["reject","vacation"]; reject "x"; vacation "y";')).error).toBe(
      's0: line 1: error: vacation action conflicts with other action: the reject action (s0: line 1) also sends a response back ' +
        'to the sender.',
    );
    expect((await run('require "reject"; reject "a"; reject "b";')).error).toBe(
      's0: line 1: error: duplicate reject/ereject action not allowed (previously triggered one was here: s0: line 1).',
    );
  });
});

describe('limits', () => {
  it('more redirects than maxRedirects: keep with the reason', async () => {
    const o = await run('redirect "a@b.c"; redirect "b@b.c"; redirect "c@b.c"; redirect "d@b.c"; redirect "e@b.c";');
    expect(brief(o)).toEqual(['keep:INBOX']);
    expect(o.error).toBe('s0: line 1: error: number of redirect actions exceeds policy limit (5 > 4).');
  });
  it('more actions than maxActions: keep with the reason', async () => {
    const o = await run('require "fileinto"; fileinto "a"; fileinto "b"; fileinto "c";', {}, undefined, { maxActions: 2, maxRedirects: 4 });
    expect(brief(o)).toEqual(['keep:INBOX']);
    expect(o.error).toContain('total number of actions exceeds policy limit (3 > 2)');
  });
  it('a redirect to an address made invalid by variables is a run-time error', async () => {
    const o = await run('require "variables"; set "a" "nobody"; redirect "${a}";');
    expect(o.error).toContain("specified redirect address 'nobody' is invalid");
    expect(brief(o)).toEqual(['keep:INBOX']);
  });
});

describe('extensions', () => {
  it('body (RFC 5173): :text, :content, :raw', async () => {
    expect(await matched('"body"', 'body :contains "money"')).toBe(true);
    expect(await matched('"body"', 'body :content "text/html" :contains "html part"')).toBe(true);
    expect(await matched('"body"', 'body :content "text/html" :contains "Money"')).toBe(false);
    expect(await matched('"body"', 'body :raw :contains "preamble"')).toBe(true);
  });
  it('date and currentdate (RFC 5260)', async () => {
    expect(await matched('["date","relational"]', 'date :value "eq" :originalzone "date" "hour" "10"')).toBe(true);
    expect(await matched('["date"]', 'date :zone "+0000" "date" "hour" "09"')).toBe(true);
    expect(await matched('["date"]', 'currentdate :zone "+0000" "date" "2026-12-06"')).toBe(true);
    expect(await matched('["date"]', 'date "date" "weekday" "2"')).toBe(true);
  });
  it('a :zone that is not +hhmm is ignored (Pigeonhole warns at compile time)', async () => {
    expect(await matched('["date"]', 'date :zone "bogus" :is "date" "year" "2026"')).toBe(true);
  });
  it('mailbox (RFC 5490): mailboxexists and fileinto :create', async () => {
    expect(await matched('"mailbox"', 'mailboxexists ["inbox","Junk"]')).toBe(true);
    expect(await matched('"mailbox"', 'mailboxexists "Nope"')).toBe(false);
    expect(await acts('require ["fileinto","mailbox"]; fileinto :create "New";')).toEqual(['store:New+create']);
  });
  it('environment (RFC 5183)', async () => {
    expect(await matched('"environment"', 'environment :is "location" "MDA"')).toBe(true);
    expect(await matched('"environment"', 'environment :is "nope" ""')).toBe(false);
  });
  it('spamtest and virustest (RFC 5235) read "0" when no scanner is configured', async () => {
    expect(await matched('"spamtest"', 'spamtest :is "0"')).toBe(true);
    expect(await matched('"virustest"', 'virustest :is "0"')).toBe(true);
  });
  it('spamtest reads the configured header', async () => {
    const c = await compileScript(
      'require ["spamtest","relational","comparator-i;ascii-numeric","fileinto"]; if spamtest :value "ge" :comparator ' +
        '"i;ascii-numeric" "5" { fileinto "Junk"; }',
      { name: 's' },
    );
    const msg = Buffer.from(`X-Spam-Score: 8\r\n${MESSAGE}`);
    const o = await runScripts(
      [c],
      input({ message: msg }),
      { seen: async () => false },
      {
        ...LIMITS,
        spamtest: { statusHeader: 'X-Spam-Score', statusType: 'score', maxValue: 10, maxHeader: null, textValues: {} },
      },
    );
    expect(brief(o)).toEqual(['store:Junk']);
  });
  it('editheader (RFC 5293): tests see the edits; protected fields are not deleted', async () => {
    const o = await run(
      'require ["editheader"]; addheader "X-A" "z"; if header :is "x-a" "z" { redirect "x@b.c"; } deleteheader :index 1 ' +
        '"x-priority"; if header :is "x-priority" "3" { redirect "y@b.c"; } deleteheader "received";',
      { message: Buffer.from(`Received: from x\r\n${MESSAGE}`) },
    );
    expect(brief(o)).toEqual(['redirect:x@b.c', 'redirect:y@b.c']);
    const edited = o.edited!.toString();
    expect(edited.startsWith('X-A: z\r\nReceived: from x\r\n')).toBe(true);
    expect(edited).not.toContain('X-Priority: 10');
    expect(o.log.some((l) => l.includes('forbidden'))).toBe(true);
  });
  it('vacation (RFC 5230): an action with the reply; none to a list message', async () => {
    const o = await run('require "vacation"; vacation :days 3 :subject "Away" "I am away";');
    expect(brief(o)).toEqual(['vacation:sender@example.com', 'keep:INBOX']);
    const v = o.actions[0] as Extract<SieveAction, { kind: 'vacation' }>;
    expect(v.periodSeconds).toBe(3 * 86_400);
    expect(v.reply.toString()).toContain('Subject: Away');
    const list = await run('require "vacation"; vacation "x";', { message: Buffer.from(`List-Id: <l.example>\r\n${MESSAGE}`) });
    expect(brief(list)).toEqual(['keep:INBOX']);
    expect(list.log.join()).toContain('mailinglist');
  });
  it('vacation :seconds (RFC 6131)', async () => {
    const o = await run('require "vacation-seconds"; vacation :seconds 90000 "x";');
    expect((o.actions[0] as Extract<SieveAction, { kind: 'vacation' }>).periodSeconds).toBe(90_000);
  });
  it('duplicate (RFC 7352): asks the hook, remembers the id, :last refreshes it', async () => {
    const asked: string[] = [];
    const s = 'require ["duplicate","fileinto"]; if duplicate { fileinto "Dup"; }';
    const fresh = await run(s, {}, async (k) => {
      asked.push(k);
      return false;
    });
    expect(brief(fresh)).toEqual(['keep:INBOX']);
    expect(fresh.remember).toEqual([{ key: asked[0], seconds: 7 * 86_400 }]);
    const again = await run(s, {}, async () => true);
    expect(brief(again)).toEqual(['store:Dup']);
    expect(again.remember).toEqual([]);
    const last = await run(
      'require "duplicate"; if duplicate :last :seconds 60 :handle "h" :header "subject" { discard; }',
      {},
      async () => true,
    );
    expect(last.remember).toEqual([{ key: expect.stringMatching(/^duplicate:/), seconds: 60 }]);
    const other = await run('require "duplicate"; if duplicate :uniqueid "x" { discard; }', {}, async (k) => {
      asked.push(k);
      return false;
    });
    expect(other.remember[0]!.key).not.toBe(asked[0]);
  });
});

describe('include (RFC 6609)', () => {
  const scripts: Record<string, string> = {
    inc: 'require ["include","fileinto"];\nfileinto "Inc";\nreturn;\nfileinto "Never";\n',
    setg: 'require ["include","variables"];\nglobal "x";\nset "x" "fromsub";\n',
    stopper: 'stop;',
  };
  const loadInclude = async (name: string, location: string) =>
    location === 'global' ? Buffer.from('require "fileinto";\nfileinto "Global";\n') : scripts[name] ? Buffer.from(scripts[name]!) : null;
  const runInc = async (src: string) =>
    brief(await runScripts([await compileScript(src, { name: 'top', loadInclude })], input(), { seen: async () => false }, LIMITS));

  it('runs included scripts; return ends the included one', async () => {
    expect(await runInc('require ["include"];\ninclude "inc";\ninclude :global "g";')).toEqual(['store:Inc', 'store:Global']);
  });
  it('global variables are shared', async () => {
    expect(await runInc('require ["include","variables","fileinto"];\nglobal "x";\ninclude "setg";\nfileinto "${x}";')).toEqual([
      'store:fromsub',
    ]);
  });
  it(':once runs a script once; stop in an included script ends all', async () => {
    expect(await runInc('require ["include","fileinto"];\ninclude :once "inc"; include :once "inc";')).toEqual(['store:Inc']);
    expect(await runInc('require ["include","fileinto"];\ninclude "stopper"; fileinto "After";')).toEqual(['keep:INBOX']);
  });
});

describe('multiscript (Pigeonhole: sieve_before, the user script, sieve_after)', () => {
  it('the next script runs while the implicit keep stands; the keep is done once', async () => {
    expect(
      brief(await run(['require ["fileinto","copy"]; fileinto :copy "Audit";', 'require "fileinto"; if false { fileinto "X"; }'])),
    ).toEqual(['store:Audit', 'keep:INBOX']);
  });
  it('a script that files the message ends the sequence', async () => {
    expect(brief(await run(['require "fileinto"; fileinto "Junk";', 'require "fileinto"; fileinto "User";']))).toEqual(['store:Junk']);
  });
  it('stop ends only its own script', async () => {
    expect(brief(await run(['stop;', 'require "fileinto"; fileinto "User";']))).toEqual(['store:User']);
  });
  it('a run-time error keeps the earlier scripts actions and keeps the message', async () => {
    const o = await run(['require ["fileinto","copy"]; fileinto :copy "A";', 'require "reject"; keep; reject "x";']);
    expect(brief(o)).toEqual(['store:A', 'keep:INBOX']);
    expect(o.error).toMatch(/^s1: line 1: error: reject\/ereject action conflicts/);
  });
  it('the internal flags variable goes on into the next script (sieve-test -s shows it)', async () => {
    expect(brief(await run(['require "imap4flags"; addflag "x"; stop;', 'require "fileinto"; fileinto "User";']))).toEqual([
      'store:User[x]',
    ]);
  });
  it("a former script's actions are done: a reject after them is no conflict", async () => {
    const o = await run(['require ["fileinto","copy"]; fileinto :copy "A";', 'require "reject"; reject "x";']);
    expect(o.error).toBeNull();
    expect(brief(o)).toEqual(['store:A', 'reject:x']);
  });
  it('a store into a folder a former script stored into is not repeated, and so cancels no implicit keep (as Pigeonhole)', async () => {
    expect(brief(await run(['require ["fileinto","copy"]; fileinto :copy "A";', 'require "fileinto"; fileinto "A";']))).toEqual([
      'store:A',
      'keep:INBOX',
    ]);
  });
});
