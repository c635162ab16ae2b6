import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, type ErrorBody, keyOf, startApi } from './api-harness';
import { send, sendRaw } from './fuzz-http-client';
import { writeReliabilityRecord } from './fuzz-report';

/**
 * Hostile input the fuzz spec does not reach by chance: uploads that never end (refused once
 * over the limit, with the server's own counters showing it never read or held the whole body),
 * ids built to escape (traversal, very long), malformed multipart bodies, and control characters
 * that must never reach the logs unescaped.
 */

const MiB = 1024 * 1024;
const UPLOAD_LIMIT = 2 * MiB;
/** What the client is willing to send: far past the limit; the server must answer long before. */
const ENDLESS = 256 * MiB;
/** Socket buffers on both ends of a loopback connection hold a few MiB the server never asked for. */
const SOCKET_SLACK = 16 * MiB;
const AUTH = { Authorization: `Bearer ${keyOf('alice')}` };
const BOUNDARY = 'hostile-boundary';

/** bytes the process has read through read(2)-like calls (sockets included) and its peak resident memory, from /proc */
async function processCounters(pid: number): Promise<{ bytesRead: number; peakRss: number }> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return {
    bytesRead: Number(/^rchar:\s+(\d+)/m.exec(io)?.[1]),
    peakRss: Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024,
  };
}

/**
 * Streams a multipart upload whose `init` file never ends (up to `ENDLESS` bytes), and resolves
 * with the server's answer and how many bytes the client had written when the answer came.
 */
function postEndlessUpload(url: string, declaredLength: boolean): Promise<{ status: number; body: ErrorBody; bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    const head = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="request"\r\n\r\n{"prompt":"x","init":{"source":"image","strength":0.5}}\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="init"; filename="huge.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    const request = httpRequest(url, {
      method: 'POST',
      headers: {
        ...AUTH,
        'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
        ...(declaredLength ? { 'Content-Length': String(head.length + ENDLESS) } : {}),
      },
    });
    let bytesWritten = 0;
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      const atAnswer = bytesWritten;
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as ErrorBody, bytesWritten: atAnswer });
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    request.write(head);
    const writeMore = (): void => {
      while (!answered && !request.destroyed && bytesWritten < ENDLESS) {
        bytesWritten += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', writeMore);
          return;
        }
      }
    };
    writeMore();
  });
}

/** C0 controls (the newline that ends each line is split off), DEL, C1 controls and the Unicode line separators. */
function hasRawControlCharacter(line: string): boolean {
  return [...line].some((character) => {
    const code = character.codePointAt(0) ?? 0;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });
}

describe('hostile input', () => {
  let api: ApiHarness;
  let refusedIds = 0;

  beforeAll(async () => {
    api = await startApi({ UPLOAD_LIMIT_BYTES: String(UPLOAD_LIMIT), RATE_LIMIT_BURST: '1000', LOG_LEVEL: 'trace' });
  });

  afterAll(async () => {
    if (api !== undefined) writeReliabilityRecord('hostile-input', { hostileIdsRefused: refusedIds, uploadLimitBytes: UPLOAD_LIMIT });
    await api?.stop();
  });

  it.each([
    { framing: 'chunked', declaredLength: false },
    { framing: 'with a Content-Length of 256 MiB', declaredLength: true },
  ])('refuses an upload that never ends ($framing) with 413 once past the limit, having read and held only about the limit', async ({ declaredLength }) => {
    const before = await processCounters(api.app.pid);
    const answer = await postEndlessUpload(`${api.baseUrl}/v1/videos`, declaredLength);
    const after = await processCounters(api.app.pid);
    expect(answer.status, JSON.stringify(answer)).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'PayloadTooLarge', field: 'init' });
    expect(answer.bytesWritten).toBeLessThan(UPLOAD_LIMIT + SOCKET_SLACK);
    // the server's own counters: what it read from all its sockets and files, and how far its memory peaked
    expect(after.bytesRead - before.bytesRead).toBeLessThan(UPLOAD_LIMIT + SOCKET_SLACK);
    expect(after.peakRss - before.peakRss).toBeLessThan(UPLOAD_LIMIT + SOCKET_SLACK);
    writeReliabilityRecord(`upload-${declaredLength ? 'declared' : 'chunked'}`, {
      clientBytesWrittenAtAnswer: answer.bytesWritten,
      serverBytesRead: after.bytesRead - before.bytesRead,
      serverPeakRssGrowth: after.peakRss - before.peakRss,
      clientWouldSend: ENDLESS,
    });
  });

  it.each([
    ['no boundary', 'multipart/form-data', '--x\r\nContent-Disposition: form-data; name="request"\r\n\r\n{"prompt":"x"}\r\n--x--\r\n'],
    ['a body cut short', `multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nContent-Disposition: form-data; name="request"\r\n\r\n{"prompt":"x"}`],
    ['an empty body', `multipart/form-data; boundary=${BOUNDARY}`, ''],
    ['a broken part header', `multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nnot a header\r\n\r\nx\r\n--${BOUNDARY}--\r\n`],
  ])('refuses a multipart body with %s with 400', async (_name, contentType, body) => {
    const answer = await send(api.baseUrl, { method: 'POST', path: '/v1/videos', headers: { ...AUTH, 'Content-Type': contentType }, body });
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.body) as ErrorBody).error.code).toMatch(/^Invalid/);
  });

  it('refuses ids that are not ids (traversal, encoded traversal, NUL, very long) with 4xx on every video route', async () => {
    const ids = [
      '..',
      '../..', // resolves to `/`, the playground: refused as a path, never served (a fuzz counterexample)
      '../../../../etc/passwd',
      '..%2F..%2F..%2Fetc%2Fpasswd',
      '%2e%2e%2f%2e%2e%2fvideos',
      'vid_01ZZZZZZZZZZZZZZZZZZZZZZZZ%00.json',
      'vid_01ZZZZZZZZZZZZZZZZZZZZZZZZ/..',
      `vid_${'Z'.repeat(4096)}`,
      'x'.repeat(100_000),
      '%252e%252e%252f',
      '{mv}:video:x',
      'videos/vid_01ZZZZZZZZZZZZZZZZZZZZZZZZ/job.json',
    ];
    const port = Number(new URL(api.baseUrl).port);
    const answers: string[] = [];
    for (const id of ids) {
      for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['GET', '/events'], ['GET', '/webhooks'], ['POST', '/webhooks/x/retry']] as const) {
        // on a raw socket: the path goes out exactly as written, and a 100 kB request line is answered (431) even though
        // the server then cuts the connection, which a client library reports as a reset instead
        const request = `${method} /v1/videos/${id}${suffix} HTTP/1.1\r\nHost: api\r\nAuthorization: ${AUTH.Authorization}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
        const status = await sendRaw(port, Buffer.from(request, 'latin1'));
        refusedIds += 1;
        if (status < 400 || status >= 500) answers.push(`${method} …/${id.slice(0, 60)}${suffix}: ${status}`);
      }
    }
    expect(answers).toEqual([]);
    // nothing was created or cancelled by any of it
    expect((JSON.parse((await send(api.baseUrl, { method: 'GET', path: '/v1/videos', headers: AUTH })).body) as { data: unknown[] }).data).toEqual([]);
  });

  it('never writes control characters from a prompt (or any other input) unescaped to the logs', async () => {
    const hostile = 'red \u001b[31mcircle\u001b[0m\r\n{"level":"fatal","msg":"forged"}\u0000\u0007\u0008\u007f\u0085\u009b2J\u2028end';
    const logStart = api.app.stdout().length;
    const submitted = await api.submit('alice', { prompt: hostile, negative_prompt: hostile, seed: 3 }, { 'Idempotency-Key': 'control-chars' });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // the prompt is stored as sent, so it reached the API whole
    const stored = await api.store.get(id);
    expect(JSON.stringify(stored)).toContain(JSON.stringify(hostile).slice(1, -1));
    // the same characters in every other place input reaches the API
    await api.submit('alice', { prompt: hostile, bogus: hostile, fps: hostile });
    await send(api.baseUrl, { method: 'GET', path: `/v1/videos?status=${encodeURIComponent(hostile)}&cursor=${encodeURIComponent(hostile)}`, headers: AUTH });
    await send(api.baseUrl, { method: 'GET', path: `/v1/videos/${encodeURIComponent(hostile)}`, headers: AUTH });
    await send(api.baseUrl, { method: 'GET', path: `/v1/videos/${id}/events?last_event_id=${encodeURIComponent(hostile)}`, headers: AUTH });
    await send(api.baseUrl, { method: 'GET', path: `/${encodeURIComponent(hostile)}` });
    await api.call('alice', `/v1/videos/${id}`, { method: 'DELETE' });
    // the log lines are flushed synchronously; a readiness answer after them means they are all out
    expect((await send(api.baseUrl, { method: 'GET', path: '/readyz' })).status).toBe(200);

    const written = api.app.stdout().slice(logStart) + api.app.stderr();
    const lines = written.split('\n').filter((line) => line.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter(hasRawControlCharacter)).toEqual([]);
    // stdout is JSON lines: an input can never forge a line of its own
    const stdoutLines = api.app.stdout().slice(logStart).split('\n').filter((line) => line.length > 0);
    for (const line of stdoutLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(stdoutLines.some((line) => (JSON.parse(line) as { msg?: string }).msg === 'forged')).toBe(false);
  });
});
