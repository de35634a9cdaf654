// One accepted connection, as a listener hands it to a module.
import type { Socket } from 'node:net';

export interface Connection {
  /** Short unique id for log records of this connection. */
  readonly id: string;
  /** The listener's name from the config. */
  readonly listener: string;
  /** "address:port" of the client. */
  readonly peer: string;
  /** The client's IP address. */
  readonly remoteAddress: string;
  /** True for a loopback client (127.0.0.0/8, ::1). */
  readonly loopback: boolean;
  /** The socket to read and write. */
  readonly socket: Socket;
  /** True once the connection is encrypted. */
  readonly secure: boolean;
}

let counter = 0;
const prefix = Date.now().toString(36).slice(-4);

export function nextConnectionId(): string {
  counter += 1;
  return `${prefix}${counter.toString(36).padStart(4, '0')}`;
}

export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a.startsWith('127.');
}

export function formatPeer(address: string | undefined, port: number | undefined): string {
  const a = address ?? 'unknown';
  return a.includes(':') ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}
