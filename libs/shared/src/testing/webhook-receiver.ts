import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * For tests: a real HTTP webhook receiver on loopback that verifies every delivery with the
 * standardwebhooks library, as a customer's endpoint would. `answer` decides each response's
 * status (by the request's number and the webhook-id); it can be stopped and started again on
 * the same port to play a receiver that is down for a while.
 */
export interface ReceivedWebhook {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the parsed payload when the signature verified, else undefined */
  verified: { type: string; timestamp: string; data: { video_id: string; sequence: number } & Record<string, unknown> } | undefined;
  status: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** every request, in arrival order */
  received: ReceivedWebhook[];
  /** requests answered 2xx and verified, first per webhook-id */
  accepted(): ReceivedWebhook[];
  answer: (request: { index: number; id: string }) => number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, path = '/hook'): Promise<WebhookReceiver> {
  let server: Server | undefined;
  let port = 0;
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received: [],
    accepted: () => receiver.received.filter((entry) => entry.status >= 200 && entry.status < 300 && entry.verified !== undefined),
    answer: () => 204,
    async start() {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
          let verified: ReceivedWebhook['verified'];
          try {
            verified = new Webhook(secret).verify(body, headers) as ReceivedWebhook['verified'];
          } catch {
            // A delivery that fails verification is kept unverified: the test asserts on it.
            verified = undefined;
          }
          const id = String(request.headers['webhook-id']);
          const status = receiver.answer({ index: receiver.received.length, id });
          receiver.received.push({ id, headers: request.headers, body, verified, status });
          response.statusCode = status;
          response.end();
        });
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      receiver.port = port;
      receiver.url = `http://127.0.0.1:${port}${path}`;
    },
    async stop() {
      const running = server;
      server = undefined;
      if (running === undefined) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
  await receiver.start();
  return receiver;
}
