// RETR and TOP (RFC 1939 sections 5 and 7): a stored message through the CRLF and dot-stuffing encoder
// into the socket. Most mail is small: such a message is read whole and goes out with its status line
// and "." in one write, without waiting on the event loop. A large message, or one another session
// renamed, is streamed with backpressure.
import type { PopMetrics } from './metrics.js';
import type { TraceLog } from '../../observability/trace.js';
import { ConnectionClosed } from '../../sessions/connection-closed.js';
import type { LineChannel } from '../../sessions/line-channel.js';
import type { Maildrop } from './maildrop.js';
import { MessageEncoder } from './message-encoder.js';

// Messages up to this size are read whole and sent in one write; larger ones are streamed.
const SMALL_MESSAGE = 256 * 1024;
// Output buffers: a power of two, at least this size, and the last one free for reuse by any session.
const MIN_OUTPUT_BUFFER = 16 * 1024;
let spare: Buffer | null = null;

export interface Sending {
  readonly channel: LineChannel;
  readonly maildrop: Maildrop;
  readonly metrics: PopMetrics;
  readonly trace: TraceLog;
  /** Records the status line (protocol log, trace). */
  logged(line: string): void;
}

/**
 * Sends message `index` as a RETR (bodyLines undefined) or TOP answer. Undefined when all of it was
 * handed to the socket at once; a promise when the client is slow to read, or when the message is
 * streamed. The promise resolves once the last octet was handed to the socket.
 */
export function sendMessage(s: Sending, index: number, firstLine: string, bodyLines?: number): Promise<void> | undefined {
  const { channel, maildrop } = s;
  if (channel.closed) return Promise.reject(new ConnectionClosed());
  const uid = maildrop.uid(index);
  const whole = maildrop.messages[index].size <= SMALL_MESSAGE ? maildrop.view.readNow(uid) : null;
  if (!whole) return streamMessage(s, index, firstLine, bodyLines);
  const encoder = new MessageEncoder(bodyLines);
  const data = encoder.encode(whole);
  const end = encoder.finish();
  // Queued lines, the status line, OpenVMS identification headers (Maildrop.size() counts them).
  const head = `${channel.takeQueued()}${firstLine}\r\n${maildrop.idHeader(index)}`;
  const total = Buffer.byteLength(head) + data.length + end.length;
  // The reusable buffer (larger than needed) is only used where the write will most likely go through
  // at once: a clear connection with nothing queued. TLS never writes through (it encrypts later), and a
  // client that is behind would keep the buffer queued: those get one of exactly the right size.
  const socket = channel.socket;
  const reusable = !channel.conn.secure && socket.writableLength === 0;
  let buffer: Buffer;
  if (reusable && spare && spare.length >= total) {
    buffer = spare;
    spare = null;
  } else {
    buffer = Buffer.allocUnsafeSlow(reusable ? Math.max(2 ** Math.ceil(Math.log2(total)), MIN_OUTPUT_BUFFER) : total);
  }
  let at = buffer.write(head);
  at += data.copy(buffer, at);
  end.copy(buffer, at);
  const drained = socket.write(buffer.subarray(0, total));
  // Written through at once (the socket keeps no reference): the buffer serves the next message.
  if (reusable && socket.writableLength === 0) spare = buffer;
  s.logged(firstLine);
  sent(s, index, data.length);
  return drained ? undefined : channel.drained();
}

/** sendMessage for a message read in chunks: large, or found again after a rename. */
async function streamMessage(s: Sending, index: number, firstLine: string, bodyLines?: number): Promise<void> {
  const { channel, maildrop } = s;
  const stream = await maildrop.view.open(maildrop.uid(index));
  const idHeader = maildrop.idHeader(index);
  const encoder = new MessageEncoder(bodyLines);
  channel.queue(`${firstLine}\r\n`);
  s.logged(firstLine);
  channel.midResponse = true;
  let octets = 0;
  try {
    if (idHeader) await channel.write(Buffer.from(idHeader));
    for await (const chunk of stream) {
      const data = encoder.encode(chunk as Buffer);
      octets += data.length;
      if (data.length > 0) await channel.write(data);
      if (encoder.done) break;
    }
    await channel.write(encoder.finish());
  } finally {
    stream.destroy();
    sent(s, index, octets);
  }
  channel.midResponse = false;
}

/** Counts message octets sent and traces them. */
function sent(s: Sending, index: number, octets: number): void {
  s.metrics.octetsSent.inc(octets);
  if (s.trace.enabled) s.trace.line(s.channel.conn.id, 'S', `[message ${index + 1}: ${octets} octets]`);
}
