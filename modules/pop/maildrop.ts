// The maildrop of a POP session (RFC 1939 section 5): the messages of the mailbox view as they were at
// sign-in, with 1-based numbers that never change during the session, the session's deletion and
// retrieval marks, and each message's POP size and UIDL. What the view learns later (other sessions'
// changes) is not shown: POP numbers are frozen for the session.
import type { MailboxView, MessageInfo } from '../../store/contract.js';
import { badCommand, PopError } from './pop-error.js';
import { expandUidl, needsHeader } from './uidl.js';
import { quoteClient } from '../../sessions/client-text.js';

const NUMBER = /^[1-9][0-9]{0,9}$/;

export interface MaildropOptions {
  /** Direct Mailbox Addressing: only messages whose `header` lists `name`. */
  realTo?: { header: string; name: string };
  /** Leave out messages flagged \Deleted (pop.deleteAction: flag). */
  hideDeleted: boolean;
  /** At most this many messages, the oldest (pop.messageMaximum); 0 = all. */
  limit: number;
  /** pop.uidlFormat. */
  uidlFormat: string;
  /** OpenVMS identification headers: the lines added at the top of message i (sizes then count them). */
  idHeader?: (uidl: string) => string;
}

export class Maildrop {
  private readonly deleted: Uint8Array;
  private readonly retrieved: Uint8Array;
  /** Seen set by this session (the message infos are as of sign-in). */
  private readonly seenNow: Uint8Array;
  private deletedCount = 0;
  private deletedOctets = 0;
  private readonly totalOctets: number;
  private readonly idHeaders: string[] | null;

  private constructor(
    readonly view: MailboxView,
    readonly messages: readonly MessageInfo[],
    private readonly uidls: readonly string[],
    idHeader: ((uidl: string) => string) | undefined,
  ) {
    const n = messages.length;
    this.deleted = new Uint8Array(n);
    this.retrieved = new Uint8Array(n);
    this.seenNow = new Uint8Array(n);
    this.idHeaders = idHeader ? uidls.map(idHeader) : null;
    let total = 0;
    for (let i = 0; i < n; i++) total += this.size(i);
    this.totalOctets = total;
  }

  /** The maildrop of `view` as it is now, filtered as the options say. */
  static async open(view: MailboxView, options: MaildropOptions): Promise<Maildrop> {
    let messages: readonly MessageInfo[] = view.messages;
    if (options.hideDeleted) messages = messages.filter((m) => !m.flags.has('\\Deleted'));
    if (options.realTo) messages = await onlyAddressedTo(view, messages, options.realTo);
    if (options.limit) messages = messages.slice(0, options.limit);
    const withHeader = needsHeader(options.uidlFormat);
    const uidls: string[] = [];
    for (const m of messages) {
      if (m.popUidl !== undefined) uidls.push(m.popUidl);
      else {
        const header = withHeader ? await view.readHeader(m.uid).catch(() => Buffer.alloc(0)) : undefined;
        uidls.push(expandUidl(options.uidlFormat, { uid: m.uid, uidValidity: view.uidValidity, filename: m.key, header }));
      }
    }
    return new Maildrop(view, messages, uidls, options.idHeader);
  }

  /** Messages in the maildrop, counting those marked deleted. */
  get total(): number {
    return this.messages.length;
  }

  uid(index: number): number {
    return this.messages[index].uid;
  }

  uidl(index: number): string {
    return this.uidls[index];
  }

  /** The identification header lines of message `index` (pop.idHeaders), or "". */
  idHeader(index: number): string {
    return this.idHeaders ? this.idHeaders[index] : '';
  }

  /** The octets RETR sends for message `index` (before dot-stuffing). */
  size(index: number): number {
    return this.messages[index].size + (this.idHeaders ? Buffer.byteLength(this.idHeaders[index]) : 0);
  }

  /** True when the message has \Seen (at sign-in, or set by this session since). */
  seen(index: number): boolean {
    return this.seenNow[index] === 1 || this.messages[index].flags.has('\\Seen');
  }

  markSeen(index: number): void {
    this.seenNow[index] = 1;
  }

  markRetrieved(index: number): void {
    this.retrieved[index] = 1;
  }

  /** Messages retrieved with RETR and not marked deleted (pop.moveReadTo). */
  readIndexes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.retrieved.length; i++) if (this.retrieved[i] && !this.deleted[i]) out.push(i);
    return out;
  }

  /** Messages not marked deleted. */
  get count(): number {
    return this.messages.length - this.deletedCount;
  }

  /** Octets of the messages not marked deleted. */
  get octets(): number {
    return this.totalOctets - this.deletedOctets;
  }

  /**
   * The index of message number `arg`. A malformed number is a bad command; a number that names no
   * message, or a message marked deleted, is a plain error (RFC 1939: "-ERR no such message").
   */
  index(arg: string): number {
    if (!NUMBER.test(arg)) throw badCommand(`${quoteClient(arg, 20)} is not a message number`);
    const n = Number(arg);
    if (n > this.messages.length) throw new PopError(null, `No such message: there are only ${this.messages.length} messages`);
    if (this.deleted[n - 1]) throw new PopError(null, `Message ${n} is already deleted`);
    return n - 1;
  }

  markDeleted(index: number): void {
    if (this.deleted[index]) return;
    this.deleted[index] = 1;
    this.deletedCount += 1;
    this.deletedOctets += this.size(index);
  }

  /** RSET: unmark every message. */
  unmarkAll(): void {
    this.deleted.fill(0);
    this.deletedCount = 0;
    this.deletedOctets = 0;
  }

  deletedIndexes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.deleted.length; i++) if (this.deleted[i]) out.push(i);
    return out;
  }

  /** "n value" lines for LIST or UIDL, skipping deleted messages. */
  listing(value: (index: number) => string | number): string {
    const lines: string[] = [];
    for (let i = 0; i < this.deleted.length; i++) if (!this.deleted[i]) lines.push(`${i + 1} ${value(i)}\r\n`);
    return lines.join('');
  }
}

/** Direct Mailbox Addressing (CommuniGate): the messages whose `header` field lists `name`. */
async function onlyAddressedTo(
  view: MailboxView,
  messages: readonly MessageInfo[],
  realTo: { header: string; name: string },
): Promise<MessageInfo[]> {
  const kept: MessageInfo[] = [];
  for (const m of messages) {
    const header = await view.readHeader(m.uid).catch(() => null); // removed meanwhile: not shown
    if (header && headerListsName(header, realTo.header, realTo.name)) kept.push(m);
  }
  return kept;
}

/** True when a `header` field of the header section lists `name` (as a bare name or as name@domain). */
export function headerListsName(section: Buffer, header: string, name: string): boolean {
  const prefix = `${header.toLowerCase()}:`;
  const wanted = name.toLowerCase();
  const fields = section
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/);
  for (const field of fields) {
    if (!field.toLowerCase().startsWith(prefix)) continue;
    for (const token of field.slice(prefix.length).split(/[\s,;<>"]+/)) {
      const t = token.toLowerCase();
      if (t === wanted || t.startsWith(`${wanted}@`)) return true;
    }
  }
  return false;
}
