// Which Sieve runs the pool makes in the calling thread (sieve/run-inline.ts): only those whose time the
// sizes bound. A pattern that can backtrack, a large message or a large script goes to a worker thread,
// where sieve.maxCpuTime and sieve.maxMemory hold (test/e2e/sieve-delivery-faults.test.ts).
import { describe, expect, it } from 'vitest';
import { compileScript } from '../../sieve/compile.js';
import { MAX_MESSAGE, runsInline } from '../../sieve/run-inline.js';

const compiled = (source: string) => compileScript(source, { name: 'test' });
const small = 4000;

describe('runs made in the calling thread', () => {
  it('a filing script with :is, :contains and :matches "*text*" on a small message', async () => {
    const script = await compiled(
      'require ["fileinto", "imap4flags"];\n' +
        'if header :matches "subject" "*[JIRA]*" { fileinto "Tickets"; }\n' +
        'if header :matches "subject" "Re: *" { addflag "\\\\Answered"; }\n' +
        'if address :is "from" "boss@example.org" { fileinto "Boss"; }\n' +
        'if header :contains "list-id" "dev" { fileinto "Dev"; }\n',
    );
    expect(runsInline([script], small)).toBe(true);
    expect(runsInline([script], MAX_MESSAGE + 1)).toBe(false); // a large message: a thread, with the limits
  });

  it('never one that can backtrack: :regex, a "*" inside a :matches key, a variable in it', async () => {
    const regex = await compiled('require "regex"; if header :regex "subject" "(a+)+$" { discard; }');
    const inner = await compiled('if header :matches "subject" "*a*b" { discard; }');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Sieve variable, not a template
    const variable = await compiled('require "variables"; set "p" "*a*a*"; if header :matches "subject" "${p}" { discard; }');
    const escaped = await compiled('if header :matches "subject" "*a\\\\*b*" { discard; }'); // an escaped * is a plain character
    expect(runsInline([regex], small)).toBe(false);
    expect(runsInline([inner], small)).toBe(false);
    expect(runsInline([variable], small)).toBe(false);
    expect(runsInline([escaped], small)).toBe(true);
    // one such script in the sequence sends the whole run to a thread
    expect(runsInline([escaped, regex], small)).toBe(false);
  });

  it('never a large script', async () => {
    const big = await compiled(Array.from({ length: 600 }, (_, i) => `if header :contains "subject" "w${i}" { keep; }`).join('\n'));
    expect(runsInline([big], small)).toBe(false);
  });
});
