// Logging with pino: one JSON record per line on standard output (see log-destination.ts: it never
// blocks the server), times in ISO 8601. Levels, quietest first: error, info, protocol (every command
// and response line), debug.
import pino, { type Logger as PinoLogger } from 'pino';
import type { LogDestination } from './log-destination.js';

export type LogLevel = 'error' | 'info' | 'protocol' | 'debug';
export type Logger = PinoLogger<'protocol'>;

export function createLogger(level: LogLevel, destination: LogDestination): Logger {
  return pino(
    {
      level,
      customLevels: { protocol: 25 },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets never reach a log line, whatever a caller passes by mistake.
      redact: { paths: ['password', '*.password', 'pass', 'secret', '*.secret'], censor: '[redacted]' },
    },
    destination,
  );
}
