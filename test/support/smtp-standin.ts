import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** What the stand-in saw for one recipient: DATA commands received, messages accepted (raw source). */
export interface RecipientLog {
  data: number;
  accepted: string[];
}

export interface SmtpStandIn {
  url: string;
  log(to: string): RecipientLog;
  /** While true (the default), `refused-` recipients get a temporary refusal. */
  refusing: boolean;
  close(): Promise<void>;
}

/**
 * An SMTP server that behaves by the recipient's prefix: `rejected-` is refused for good (550 at
 * RCPT), `refused-` temporarily while `refusing` (451 at RCPT: certainly not accepted),
 * `deferred-` is deferred at its first DATA (451), `silent-` never gets the reply to its DATA (the
 * data went out, so it may have been accepted); anything else is accepted.
 */
export async function startSmtpStandIn(): Promise<SmtpStandIn> {
  const seen = new Map<string, RecipientLog>();
  const log = (to: string) => {
    let entry = seen.get(to);
    if (!entry) seen.set(to, (entry = { data: 0, accepted: [] }));
    return entry;
  };
  const standIn = { refusing: true };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(rcpt, _session, callback) {
      if (rcpt.address.startsWith('rejected-')) return callback(Object.assign(new Error('5.1.1 no such mailbox'), { responseCode: 550 }));
      if (rcpt.address.startsWith('refused-') && standIn.refusing) return callback(Object.assign(new Error('4.7.1 try again later'), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo[0]!.address;
      const entry = log(to);
      entry.data += 1;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (to.startsWith('silent-')) return;
        if (to.startsWith('deferred-') && entry.data === 1) return callback(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
        entry.accepted.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(standIn, {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    log,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
