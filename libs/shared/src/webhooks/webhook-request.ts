import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedWebhookUrl } from './webhook-url-guard';

/**
 * One webhook POST over node:http(s), connected to the address the URL guard checked (a
 * `lookup` that answers with it, so no second DNS query can send the connection elsewhere; TLS
 * still verifies the certificate for the URL's host name). Redirects are never followed (a 3xx
 * is an answer like any other), and the whole attempt, answer body included, is bounded by
 * `timeoutMs`.
 */

export interface WebhookResponse {
  statusCode: number;
}

/** The receiver did not answer in time, or the connection failed. */
export class WebhookRequestFailed extends Error {
  readonly code = 'WebhookRequestFailed';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'WebhookRequestFailed';
  }
}

/** Bytes of the answer read before the connection is dropped (receivers' bodies are not kept). */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function postWebhook(
  target: CheckedWebhookUrl,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; userAgent: string },
): Promise<WebhookResponse> {
  const pinned = target.addresses[0];
  if (pinned === undefined) return Promise.reject(new WebhookRequestFailed('no checked address to connect to'));
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all === true) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(target.url, {
      method: 'POST',
      lookup,
      agent: false,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': options.userAgent,
      },
    });
    const timer = setTimeout(() => request.destroy(new WebhookRequestFailed(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('response', (response: IncomingMessage) => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) response.destroy();
      });
      const done = (): void => {
        clearTimeout(timer);
        resolve({ statusCode: response.statusCode ?? 0 });
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error instanceof WebhookRequestFailed ? error : new WebhookRequestFailed(error.message, { cause: error }));
    });
    request.end(body);
  });
}
