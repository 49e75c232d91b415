import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the stand-in received on Twilio's Messages endpoint. */
export interface TwilioRequest {
  accountSid: string;
  authorization: string | undefined;
  idempotencyToken: string | undefined;
  userAgent: string | undefined;
  form: Record<string, string>;
  at: string;
}

/** How the stand-in answers messages to one number (the first `times` requests; forever without). */
export interface TwilioBehaviour {
  to: string;
  status: number;
  code?: number;
  message?: string;
  times?: number;
}

export interface TwilioStandIn {
  url: string;
  stop(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Stands in for https://api.twilio.com in tests: `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * answers as Twilio does (201 with a message resource, or an error resource), and the requests are
 * readable by the tests at `GET /__requests` (also from other processes: it runs in the suite's
 * global setup). `POST /__behaviours` makes a number fail the way Twilio would.
 */
export async function startTwilioStandIn(): Promise<TwilioStandIn> {
  const requests: TwilioRequest[] = [];
  const behaviours: TwilioBehaviour[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && url.pathname === '/__requests') {
      const to = url.searchParams.get('to');
      return json(200, to ? requests.filter((request) => request.form.To === to) : requests);
    }
    if (req.method === 'POST' && url.pathname === '/__behaviours') {
      behaviours.push(JSON.parse(await body(req)) as TwilioBehaviour);
      return json(200, { ok: true });
    }
    const match = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) return json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    const form = Object.fromEntries(new URLSearchParams(await body(req)));
    requests.push({
      accountSid: match[1]!,
      authorization: req.headers.authorization,
      idempotencyToken: req.headers['i-twilio-idempotency-token'] as string | undefined,
      userAgent: req.headers['user-agent'],
      form,
      at: new Date().toISOString(),
    });
    const behaviour = behaviours.find((candidate) => candidate.to === form.To && (candidate.times === undefined || candidate.times > 0));
    if (behaviour) {
      if (behaviour.times !== undefined) behaviour.times -= 1;
      return json(behaviour.status, {
        code: behaviour.code ?? behaviour.status * 100,
        message: behaviour.message ?? 'Error from the stand-in',
        more_info: `https://www.twilio.com/docs/errors/${behaviour.code ?? ''}`,
        status: behaviour.status,
      });
    }
    const now = new Date().toUTCString();
    json(201, {
      sid: `SM${randomBytes(16).toString('hex')}`,
      account_sid: match[1],
      to: form.To,
      from: form.From,
      body: form.Body,
      status: 'queued',
      direction: 'outbound-api',
      num_segments: '1',
      date_created: now,
      date_updated: now,
      api_version: '2010-04-01',
      uri: `/2010-04-01/Accounts/${match[1]}/Messages.json`,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise((resolve) => {
        // The Twilio client keeps its connections alive; they must not hold the close up.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
