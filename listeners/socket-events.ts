// A protocol channel's hold on its socket: the four events it listens to and the idle timer, taken and
// given back in one call (a channel lets go of the clear socket while STARTTLS/STLS wraps it).
import type { Socket } from 'node:net';

export interface SocketEvents {
  data(chunk: Buffer): void;
  /** Nothing came or went for the idle time. */
  timeout(): void;
  close(): void;
  error(err: Error): void;
}

/** Listens to `socket` with an idle timer of `idleMs`; returns the function that stops both. */
export function listenTo(socket: Socket, idleMs: number, events: SocketEvents): () => void {
  socket.setTimeout(idleMs);
  socket.on('data', events.data);
  socket.on('timeout', events.timeout);
  socket.on('close', events.close);
  socket.on('error', events.error);
  return () => {
    socket.setTimeout(0);
    socket.off('data', events.data);
    socket.off('timeout', events.timeout);
    socket.off('close', events.close);
    socket.off('error', events.error);
  };
}
