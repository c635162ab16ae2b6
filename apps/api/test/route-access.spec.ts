import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_BOARD_PATH } from '../src/admin/queue-board';
import { type ApiHarness, keyOf, startApi } from './api-harness';
import { writeReliabilityRecord } from './fuzz-report';

/**
 * Access control over every route the running API registers. The routes are read from the API
 * process itself (route-recorder-access.mjs, preloaded, records each route Fastify registers), so
 * a route added later is covered without editing this file: it must refuse a request without a
 * valid key, or be added here to the few routes the issue leaves open.
 */

interface RegisteredRoute {
  method: string;
  url: string;
}

/** Open by design (issue 9): probes, metrics and the API docs… */
const OPEN_ROUTES: readonly RegExp[] = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/docs(\/.*)?$/];
/** …and the static playground page at `/`, whose files the API serves from the playground's build (when built). */
const PLAYGROUND_BUILD_DIR = path.join(REPO_ROOT, 'dist/apps/playground');

function isPlaygroundFile(route: RegisteredRoute): boolean {
  if (route.method !== 'GET' && route.method !== 'HEAD') return false;
  if (route.url === '/') return true;
  const file = path.join(PLAYGROUND_BUILD_DIR, route.url);
  return file.startsWith(`${PLAYGROUND_BUILD_DIR}${path.sep}`) && existsSync(file) && statSync(file).isFile();
}
const isOpen = (route: RegisteredRoute) => OPEN_ROUTES.some((pattern) => pattern.test(route.url)) || isPlaygroundFile(route);

const ADMIN_KEY = 'admin-key-for-the-access-test';
const MISSING_VIDEO = 'vid_01ZZZZZZZZZZZZZZZZZZZZZZZZ';
const recorder = fileURLToPath(new URL('./route-recorder-access.mjs', import.meta.url));

/** A concrete URL for a route pattern: every `:param` and `*` filled with `fill`. */
function concretePath(url: string, fill: (param: string) => string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_match, param: string) => fill(param)).replace(/\*$/, 'x');
}

function requestInit(method: string, headers: Record<string, string>): RequestInit {
  const withBody = ['POST', 'PUT', 'PATCH'].includes(method);
  return {
    method,
    headers: withBody ? { ...headers, 'Content-Type': 'application/json' } : headers,
    ...(withBody ? { body: '{}' } : {}),
  };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('access to every route of the running API', () => {
  let api: ApiHarness;
  let routes: RegisteredRoute[];
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'mv-routes-'));
    const routeListFile = path.join(workDir, 'routes.json');
    api = await startApi({
      ADMIN_API_KEY: ADMIN_KEY,
      RATE_LIMIT_BURST: '1000',
      NODE_OPTIONS: `--import ${recorder}`,
      ROUTE_LIST_FILE: routeListFile,
    });
    routes = JSON.parse(readFileSync(routeListFile, 'utf8')) as RegisteredRoute[];
  });

  afterAll(async () => {
    await api?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('reads the route list from the app: open routes and guarded ones under /v1 and the queue UI', () => {
    expect(routes.filter(isOpen).length).toBeGreaterThan(0);
    expect(routes.some((route) => route.url.startsWith('/v1/') && !isOpen(route))).toBe(true);
    expect(routes.some((route) => route.url.startsWith(QUEUE_BOARD_PATH))).toBe(true);
  });

  it('refuses every other route with 401 without a key, with an unknown key, and with a key of the other realm', async () => {
    const guarded = routes.filter((route) => !isOpen(route));
    const wrongCredentials: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer not-a-key' },
      { 'X-API-Key': 'not-a-key' },
      { Authorization: basic('admin', 'not-a-key') },
      { Authorization: 'Bearer' },
    ];
    const answers: string[] = [];
    let requests = 0;
    for (const route of guarded) {
      const url = `${api.baseUrl}${concretePath(route.url, () => MISSING_VIDEO)}`;
      const otherRealm = route.url.startsWith(QUEUE_BOARD_PATH)
        ? { Authorization: `Bearer ${keyOf('alice')}` }
        : { Authorization: `Bearer ${ADMIN_KEY}` };
      // the other realm too: the admin key is no API key, and an API key opens no queue UI
      for (const headers of [...wrongCredentials, otherRealm]) {
        const response = await fetch(url, requestInit(route.method, headers));
        await response.arrayBuffer();
        requests += 1;
        if (response.status !== 401) answers.push(`${route.method} ${route.url} with ${JSON.stringify(headers)}: ${response.status}`);
      }
    }
    expect(answers).toEqual([]);
    writeReliabilityRecord('access-routes', {
      routes: routes.length,
      guardedRoutes: guarded.length,
      openRoutes: routes.length - guarded.length,
      unauthenticatedRequests: requests,
      notRefused: answers.length,
    });
  });

  it('answers the open routes without a key (never 401, never 5xx)', async () => {
    const refused: string[] = [];
    for (const route of routes.filter(isOpen)) {
      const response = await fetch(`${api.baseUrl}${concretePath(route.url, () => 'x')}`, requestInit(route.method, {}));
      await response.arrayBuffer();
      if (response.status === 401 || response.status >= 500) refused.push(`${route.method} ${route.url}: ${response.status}`);
    }
    expect(refused).toEqual([]);
  });

  it('lets the right key through: the API key on /v1, the admin key on the queue UI', async () => {
    const list = await api.call('alice', '/v1/videos');
    expect(list.status).toBe(200);
    const board = await fetch(`${api.baseUrl}${QUEUE_BOARD_PATH}/api/queues`, { headers: { Authorization: basic('ops', ADMIN_KEY) } });
    expect(board.status).toBe(200);
  });

  it('never lets key B read, cancel, list or touch the webhooks of key A’s video, on any route with a video id', async () => {
    const submitted = await api.submit('alice', { prompt: 'alice only', seed: 1 });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const withId = routes.filter((route) => !isOpen(route) && route.url.startsWith('/v1/') && route.url.includes(':id'));
    expect(withId.length).toBeGreaterThan(0);

    const differences: string[] = [];
    const headers = { Authorization: `Bearer ${keyOf('bob')}` };
    // an answer with the video id in it masked, so bob's answer can be compared with a missing id's
    const seen = async (route: RegisteredRoute, videoId: string) => {
      const fill = (param: string) => (param === 'id' ? videoId : 'delivery-1');
      const response = await fetch(`${api.baseUrl}${concretePath(route.url, fill)}`, requestInit(route.method, headers));
      return { status: response.status, body: (await response.text()).replaceAll(videoId, '<id>') };
    };
    for (const route of withId) {
      const other = await seen(route, id);
      const absent = await seen(route, MISSING_VIDEO);
      if (other.status !== 404 || JSON.stringify(other) !== JSON.stringify(absent)) {
        differences.push(`${route.method} ${route.url}: ${JSON.stringify(other)} vs a missing id's ${JSON.stringify(absent)}`);
      }
    }
    expect(differences).toEqual([]);

    // bob's list never shows it, whatever he asks for
    for (const query of ['', '?limit=100', '?status=queued', `?owner=alice`, `?id=${id}`]) {
      const response = await api.call('bob', `/v1/videos${query}`);
      expect(response.status).toBeLessThan(500);
      expect(await response.text()).not.toContain(id);
    }
    // and nothing bob sent changed it: still alice's, still queued
    const own = await api.call('alice', `/v1/videos/${id}`);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { status: string }).status).toBe('queued');
    expect(await (await api.call('alice', '/v1/videos')).text()).toContain(id);
  });
});
