// Waiting for a client to read what was written, for every protocol: a client that stops reading is
// given 2, 4, 8, 16 and 32 seconds (the first wait doubling; OpenVMS 15.1.3), then given up on.
import type { Socket } from 'node:net';

export interface DrainLog {
  debug(fields: Record<string, unknown>, msg: string): void;
}

/** 'drained' once the client has read enough; 'closed' if the socket closed; 'blocked' after the last wait. */
export async function waitForDrain(socket: Socket, firstWaitMs: number, log: DrainLog): Promise<'drained' | 'closed' | 'blocked'> {
  let wait = firstWaitMs;
  for (let attempt = 1; attempt <= 5; attempt++, wait *= 2) {
    if (socket.writableLength === 0) return 'drained';
    const outcome = await new Promise<'drain' | 'close' | 'blocked'>((resolve) => {
      const done = (what: 'drain' | 'close' | 'blocked') => {
        clearTimeout(timer);
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        resolve(what);
      };
      const onDrain = () => done('drain');
      const onClose = () => done('close');
      const timer = setTimeout(() => done('blocked'), wait);
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
    if (outcome === 'drain') return 'drained';
    if (outcome === 'close') return 'closed';
    log.debug({ attempt, waitedMs: wait }, 'output blocked; client is not reading');
  }
  return 'blocked';
}
