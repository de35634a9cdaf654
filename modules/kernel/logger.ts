// Logging with pino: one JSON record per line on stdout. Levels, quietest first:
// error, info, protocol (every command and response line), debug.
import pino, { type Logger as PinoLogger } from 'pino';

export type LogLevel = 'error' | 'info' | 'protocol' | 'debug';
export type Logger = PinoLogger<'protocol'>;

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination(1)): Logger {
  return pino(
    {
      level,
      customLevels: { protocol: 25 },
      base: { pid: process.pid },
      // Secrets never reach a log line, whatever a caller passes by mistake.
      redact: { paths: ['password', '*.password', 'pass', 'secret', '*.secret'], censor: '[redacted]' },
    },
    destination,
  );
}
