// A real SMTP server (the smtp-server package on port 0) standing for a relay in tests: it records the envelope
// and data of each message it takes, and refuses (550) recipients whose address contains "refuse".
import { SMTPServer } from 'smtp-server';

export interface RecordedMail<D> {
  from: string;
  to: string[];
  data: D;
}

export interface SmtpRecorder<D> {
  port: number;
  /** Each message taken, in order (filled as they arrive). */
  received: RecordedMail<D>[];
  close(): Promise<void>;
}

/** Starts the server; `decode` turns each message's octets into the form the test reads. */
export async function startSmtpRecorder<D>(decode: (data: Buffer) => D): Promise<SmtpRecorder<D>> {
  const received: RecordedMail<D>[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.includes('refuse')) callback(Object.assign(new Error('no such user here'), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: decode(Buffer.concat(chunks)),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as { port: number }).port;
  return { port, received, close: () => new Promise((resolve) => smtp.close(() => resolve())) };
}
