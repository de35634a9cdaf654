// The maildrop of a POP session (RFC 1939 section 5): the mailbox snapshot plus the session's own
// deletion marks, with 1-based message numbers that never change during the session.
import type { MailboxSnapshot } from '../../accounts/mail-store.js';
import { badCommand, PopError } from './pop-error.js';

const NUMBER = /^[1-9][0-9]{0,9}$/;

export class Maildrop {
  private readonly deleted: Uint8Array;
  private readonly retrieved: Uint8Array;
  private deletedCount = 0;
  private deletedOctets = 0;
  private readonly totalOctets: number;

  /**
   * @param idHeader for OpenVMS identification headers: the lines added at the top of message i;
   * sizes then include them, so LIST and STAT stay exact.
   */
  constructor(
    readonly snapshot: MailboxSnapshot,
    readonly idHeader: ((index: number) => string) | null = null,
  ) {
    this.deleted = new Uint8Array(snapshot.count);
    this.retrieved = new Uint8Array(snapshot.count);
    let total = snapshot.totalSize;
    if (idHeader) for (let i = 0; i < snapshot.count; i++) total += Buffer.byteLength(idHeader(i));
    this.totalOctets = total;
  }

  /** The octets RETR sends for message `index` (before dot-stuffing). */
  size(index: number): number {
    return this.snapshot.size(index) + (this.idHeader ? Buffer.byteLength(this.idHeader(index)) : 0);
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
    return this.snapshot.count - this.deletedCount;
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
    if (!NUMBER.test(arg)) throw badCommand(`"${arg.slice(0, 20)}" is not a message number`);
    const n = Number(arg);
    if (n > this.snapshot.count) throw new PopError(null, `No such message: there are only ${this.snapshot.count} messages`);
    if (this.deleted[n - 1]) throw new PopError(null, `Message ${n} is already deleted`);
    return n - 1;
  }

  isDeleted(index: number): boolean {
    return this.deleted[index] === 1;
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
