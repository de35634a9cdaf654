// A Sieve outcome carried out (delivery/sieve-actions.ts) over the in-memory store, with a real SMTP server
// (smtp-server on port 0) behind the real relay (submission/relay.ts) for redirect, vacation and reject.
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { DeliveryError } from '../../delivery/delivery-error.js';
import { type CarryOutContext, carryOut, storeFlags } from '../../delivery/sieve-actions.js';
import type { SieveAction, SieveOutcome } from '../../sieve/outcome.js';
import type { DeliveryMemory } from '../../store/contract.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import { Relay } from '../../submission/relay.js';
import { startRelay } from '../helpers/sieve-delivery.js';

/** A port nothing listens on (a relay that is down). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
const MESSAGE = Buffer.from(
  'Return-Path: <bob@remote.example>\r\nFrom: Bob <bob@remote.example>\r\nTo: alice@example.org\r\n' +
    'Subject: hello\r\nMessage-ID: <m1@remote.example>\r\n\r\nBody line\r\n',
);

let smtp: Awaited<ReturnType<typeof startRelay>>;
let relay: Relay;
let store: MemoryStore;
let memory: DeliveryMemory;
let logs: { level: string; message: string; details: Record<string, unknown> }[];

function outcome(actions: SieveAction[], extra: Partial<SieveOutcome> = {}): SieveOutcome {
  return { actions, remember: [], edited: null, error: null, log: [], ...extra };
}
const keep = (flags: string[] = []): SieveAction => ({ kind: 'store', mailbox: 'INBOX', flags, create: false, implicit: true });
const fileinto = (mailbox: string, flags: string[] = [], create = false): SieveAction => ({
  kind: 'store',
  mailbox,
  flags,
  create,
  implicit: false,
});

function context(over: Partial<CarryOutContext> = {}): CarryOutContext {
  return {
    store,
    memory,
    relay,
    account: alice,
    recipient: 'alice@example.org',
    envelopeFrom: 'bob@remote.example',
    message: MESSAGE,
    defaultMailbox: 'INBOX',
    settings: { redirectDuplicatePeriod: 43200, maxRedirects: 4, hostname: 'example.org' },
    log: (level, details, message) => logs.push({ level, message, details }),
    ...over,
  };
}

async function contents(mailbox: string): Promise<{ text: string; flags: string[] }[]> {
  const view = await store.open(alice, mailbox);
  const out: { text: string; flags: string[] }[] = [];
  for (const m of view.messages) {
    const chunks: Buffer[] = [];
    for await (const c of await view.open(m.uid)) chunks.push(c as Buffer);
    out.push({ text: Buffer.concat(chunks).toString('latin1'), flags: [...m.flags].sort() });
  }
  view.close();
  return out;
}

beforeAll(async () => {
  smtp = await startRelay();
  relay = new Relay({ host: '127.0.0.1', port: smtp.port, secure: false, requireTLS: false, rejectUnauthorized: false });
});
afterAll(async () => {
  relay.close();
  await smtp.close();
});
beforeEach(async () => {
  store = new MemoryStore();
  memory = store.deliveryMemory(alice);
  logs = [];
  smtp.received.length = 0;
  await store.createMailbox(alice, 'INBOX');
  await store.createMailbox(alice, 'Work');
});

describe('a Sieve outcome carried out', () => {
  it('stores into each mailbox once, with its flags and keywords set at store time', async () => {
    const done = await carryOut(
      outcome([fileinto('Work', ['\\seen', '$Label1', '\\Recent']), fileinto('work'), fileinto('Work', ['\\Flagged']), keep()]),
      context(),
    );
    expect(done.stored.map((s) => s.mailbox).sort()).toEqual(['INBOX', 'Work']);
    const work = await contents('Work');
    expect(work).toHaveLength(1);
    expect(work[0].flags).toEqual(['$Label1', '\\Flagged', '\\Seen']);
    expect(work[0].text).toBe(MESSAGE.toString('latin1'));
    expect(await contents('INBOX')).toHaveLength(1);
  });

  it('keeps to INBOX (with a log line) when fileinto names a mailbox that does not exist; :create makes it', async () => {
    await carryOut(outcome([fileinto('Nowhere', ['\\Seen'])]), context());
    expect(await contents('INBOX')).toHaveLength(1);
    expect(await store.hasMailbox(alice, 'Nowhere')).toBe(false);
    expect(logs.some((l) => l.message.includes('does not exist') && l.details.mailbox === 'Nowhere')).toBe(true);

    await carryOut(outcome([fileinto('Lists/new', [], true)]), context());
    expect(await contents('Lists/new')).toHaveLength(1);
  });

  it('a missing mailbox and INBOX together still store the message once', async () => {
    const done = await carryOut(outcome([fileinto('Nowhere'), keep()]), context());
    expect(done.stored).toHaveLength(1);
    expect(await contents('INBOX')).toHaveLength(1);
  });

  it('a fileinto that falls back to INBOX brings its flags, whichever came first', async () => {
    await carryOut(outcome([keep(), fileinto('Nowhere', ['\\Flagged'])]), context());
    await carryOut(outcome([fileinto('Nowhere', ['$Later']), keep(['\\Seen'])]), context());
    const inbox = await contents('INBOX');
    expect(inbox.map((m) => m.flags)).toEqual([['\\Flagged'], ['$Later', '\\Seen']]);
  });

  it('discards: nothing is stored', async () => {
    const done = await carryOut(outcome([{ kind: 'discard' }]), context());
    expect(done.discarded).toBe(true);
    expect(await contents('INBOX')).toHaveLength(0);
  });

  it('stores the message the script edited (editheader)', async () => {
    const edited = Buffer.from(`X-Spam: yes\r\n${MESSAGE.toString('latin1')}`);
    await carryOut(outcome([keep()], { edited }), context());
    expect((await contents('INBOX'))[0].text).toBe(edited.toString('latin1'));
  });

  it('redirects through the relay with the original envelope sender and trace fields, once per period', async () => {
    const done = await carryOut(outcome([{ kind: 'redirect', address: 'carol@elsewhere.example' }]), context());
    expect(done.redirected).toEqual(['carol@elsewhere.example']);
    expect(await contents('INBOX')).toHaveLength(0);
    expect(smtp.received).toHaveLength(1);
    const sent = smtp.received[0];
    expect(sent.from).toBe('bob@remote.example');
    expect(sent.to).toEqual(['carol@elsewhere.example']);
    expect(sent.data).toMatch(/^X-Sieve: Postern Sieve\r\nX-Sieve-Redirected-From: alice@example\.org\r\n/);
    expect(sent.data).not.toContain('Return-Path');
    expect(sent.data).toContain('Message-ID: <m1@remote.example>\r\n');
    // the same message again (the MTA delivered it twice): not forwarded twice
    await carryOut(outcome([{ kind: 'redirect', address: 'carol@elsewhere.example' }]), context());
    expect(smtp.received).toHaveLength(1);
    expect(logs.some((l) => l.message.includes('duplicate forward'))).toBe(true);
  });

  it('a redirect of a message with the null sender goes out with the null sender (RFC 5228 section 4.2)', async () => {
    await carryOut(outcome([{ kind: 'redirect', address: 'carol@elsewhere.example' }]), context({ envelopeFrom: '' }));
    expect(smtp.received[0].from).toBe('');
  });

  it('a message redirected from this recipient before (a loop) is kept instead', async () => {
    const looped = Buffer.from(`X-Sieve-Redirected-From: alice@example.org\r\n${MESSAGE.toString('latin1')}`);
    const done = await carryOut(outcome([{ kind: 'redirect', address: 'carol@elsewhere.example' }]), context({ message: looped }));
    expect(smtp.received).toHaveLength(0);
    expect(done.stored.map((s) => s.mailbox)).toEqual(['INBOX']);
  });

  it('a relay that is down makes the delivery temporary, with nothing stored; one that refuses for good keeps it', async () => {
    const down = new Relay({ host: '127.0.0.1', port: await deadPort(), secure: false, requireTLS: false, rejectUnauthorized: false });
    const failed = await carryOut(
      outcome([fileinto('Work'), { kind: 'redirect', address: 'carol@elsewhere.example' }]),
      context({ relay: down }),
    ).catch((e: unknown) => e);
    down.close();
    expect(failed).toBeInstanceOf(DeliveryError);
    expect((failed as DeliveryError).permanent).toBe(false);
    expect(await contents('Work')).toHaveLength(0);
    expect(await contents('INBOX')).toHaveLength(0);

    const refused = await carryOut(outcome([{ kind: 'redirect', address: 'refuse@elsewhere.example' }]), context());
    expect(refused.stored.map((s) => s.mailbox)).toEqual(['INBOX']);
    const noRelay = await carryOut(outcome([{ kind: 'redirect', address: 'carol@elsewhere.example' }]), context({ relay: null }));
    expect(noRelay.stored.map((s) => s.mailbox)).toEqual(['INBOX']);
  });

  it('answers vacation from the null sender, once per sender and period', async () => {
    const reply = Buffer.from('To: bob@remote.example\r\nSubject: Auto: hello\r\nAuto-Submitted: auto-replied\r\n\r\nAway\r\n');
    const vacation: SieveAction = {
      kind: 'vacation',
      to: 'bob@remote.example',
      from: 'alice@example.org',
      reply,
      key: 'v1',
      periodSeconds: 86400,
    };
    await carryOut(outcome([keep(), vacation]), context());
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({ from: '', to: ['bob@remote.example'] });
    expect(smtp.received[0].data).toContain('Subject: Auto: hello');
    await carryOut(outcome([keep(), vacation]), context());
    expect(smtp.received).toHaveLength(1);
    expect(await contents('INBOX')).toHaveLength(2);
  });

  it('reject sends an MDN to the envelope sender and stores nothing; ereject is answered in the protocol', async () => {
    const done = await carryOut(outcome([{ kind: 'reject', reason: 'Not wanted here', extended: false }]), context());
    expect(done.discarded).toBe(true);
    expect(await contents('INBOX')).toHaveLength(0);
    expect(smtp.received).toHaveLength(1);
    const mdn = smtp.received[0];
    expect(mdn.from).toBe('');
    expect(mdn.to).toEqual(['bob@remote.example']);
    expect(mdn.data).toContain('report-type=disposition-notification');
    expect(mdn.data).toContain('Subject: Rejected: hello');
    expect(mdn.data).toContain('Your message to <alice@example.org> was automatically rejected:\r\nNot wanted here');
    expect(mdn.data).toContain('Disposition: automatic-action/MDN-sent-automatically; deleted');
    expect(mdn.data).toContain('Original-Message-ID: <m1@remote.example>');

    const e = await carryOut(outcome([{ kind: 'reject', reason: 'Go away', extended: true }]), context());
    expect(e.rejected).toBe('Go away');
    expect(smtp.received).toHaveLength(1);

    // RFC 5429 section 2.1: never to the null sender
    await carryOut(outcome([{ kind: 'reject', reason: 'x', extended: false }]), context({ envelopeFrom: '' }));
    expect(smtp.received).toHaveLength(1);
  });

  it('remembers the duplicate ids once the delivery is done', async () => {
    await carryOut(outcome([keep()], { remember: [{ key: 'dup:1', seconds: 60 }] }), context());
    expect(await memory.seen('dup:1')).toBe(true);
  });

  it('a failed run (its outcome: the keep, with the error) stores into INBOX', async () => {
    await carryOut(outcome([keep()], { error: 'the run took more than 5000 ms' }), context());
    expect(await contents('INBOX')).toHaveLength(1);
  });

  it('keeps go to the default mailbox of `postern deliver --mailbox`', async () => {
    await carryOut(outcome([keep()]), context({ defaultMailbox: 'Work' }));
    expect(await contents('Work')).toHaveLength(1);
    expect(await contents('INBOX')).toHaveLength(0);
  });

  it('store flags: system flags spelt as IMAP does, invalid keywords dropped', () => {
    expect(storeFlags(['\\SEEN', '\\answered', '\\Recent', '\\Bogus', 'Work', 'bad word', 'a(b', 'Work'])).toEqual([
      '\\Seen',
      '\\Answered',
      'Work',
    ]);
  });
});
