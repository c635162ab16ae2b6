import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/**
 * The HTTP clients of the fuzz spec. node:http rather than fetch, so a request can carry any
 * header value Node lets through and any body with any Content-Type; a raw socket for requests no
 * client library would send at all.
 */

export interface FuzzAnswer {
  status: number;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** One request; resolves with the answer. An event stream is cut after its head (the answer is its status). */
export function send(
  baseUrl: string,
  request: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
  timeoutMs = 15_000,
): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    // host, port and path apart: a URL string would be normalised first (`/v1/videos/../..` sent as `/`)
    const { hostname, port } = new URL(baseUrl);
    const outgoing = httpRequest({ hostname, port, path: request.path, method: request.method, headers: request.headers, agent });
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${request.path}`));
    }, timeoutMs);
    outgoing.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        clearTimeout(timer);
        response.destroy();
        resolve({ status, body: '' });
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status, body });
      });
      response.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(request.body);
  });
}

/**
 * Writes `bytes` on a fresh TCP connection and resolves with the status of the first answer, or
 * 0 when the server closed the connection without answering (what Node does for some garbage).
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      // a server that waits for the rest of a request it cannot know has ended is not a failure
      resolve(0);
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve(match ? Number(match[1]) : 0);
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (/^HTTP\/1\.[01] \d{3}/.test(received)) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // the server may reset a connection it refused; that is an answer, not a client failure
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.end(bytes);
  });
}

export function closeFuzzAgent(): void {
  agent.destroy();
}
