import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startDistributedStack, type DistributedStack } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/**
 * Issue 7's "done when": the API and the four workers as processes, a real Prometheus (Debian's
 * package, on PATH) scraping them every second, a few videos (two succeed, one with a webhook
 * to a loopback receiver; one is cancelled; one fails on an undecodable init image), then every
 * panel's PromQL of the shipped dashboard evaluated through Prometheus' HTTP API must return a
 * series with a finite value. A panel that queries a metric nobody exports fails here.
 */

const MODELS_DIR = 'assets/models/magicvideo-shapes';
const FAST = { num_inference_steps: 2, interp_num_inference_steps: 1, sr_num_inference_steps: 1 };
const DASHBOARD = 'deploy/grafana/dashboards/magicvideo.json';
const DATASOURCE = 'deploy/grafana/provisioning/datasources/prometheus.yml';
const ADMIN_API_KEY = `admin-${randomBytes(12).toString('hex')}`;
const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
/** What the test puts for Grafana's variables: every stage, and a window longer than the test. */
const VARIABLES: Record<string, string> = { $__rate_interval: '10m', $stage: '.*' };

const targetSchema = z.object({ refId: z.string(), expr: z.string().min(1), datasource: z.object({ uid: z.string() }).optional() });
const panelSchema = z.object({
  title: z.string(),
  type: z.string(),
  datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
  targets: z.array(targetSchema).optional(),
});
const dashboardSchema = z.object({
  schemaVersion: z.number(),
  panels: z.array(panelSchema),
  templating: z.object({ list: z.array(z.object({ name: z.string(), datasource: z.object({ uid: z.string() }).optional() })) }),
});
const querySchema = z.object({
  status: z.literal('success'),
  data: z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
});

interface VideoView {
  id: string;
  status: string;
  error?: { code: string; message: string };
}

function substitute(expr: string): string {
  return Object.entries(VARIABLES).reduce((text, [name, value]) => text.split(name).join(value), expr);
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe('observability: Prometheus scrapes every process and every dashboard panel has data', () => {
  let stack: DistributedStack;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let prometheusUrl = '';
  let scratch = '';
  let receiver: Server;
  const deliveries: string[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        deliveries.push(body);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    stack = await startDistributedStack({
      modelsDir: MODELS_DIR,
      env: {
        ADMIN_API_KEY,
        WEBHOOK_ALLOW_LOOPBACK: 'true',
        WEBHOOK_REQUIRE_HTTPS: 'false',
        WEBHOOK_SECRETS: `dev=whsec_${randomBytes(32).toString('base64')}`,
      },
    });

    scratch = await mkdtemp(join(tmpdir(), 'mv-prometheus-'));
    const hostOf = (url: string) => new URL(url).host;
    const jobs = stack.processes.map((process) => ({ job: process.name === 'api' ? 'api' : `worker-${process.name}`, target: hostOf(process.url) }));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      ...jobs.flatMap(({ job, target }) => [`  - job_name: ${job}`, '    metrics_path: /metrics', '    static_configs:', `      - targets: ['${target}']`]),
    ].join('\n');
    await writeFile(join(scratch, 'prometheus.yml'), `${config}\n`);
    const port = await findFreePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(scratch, 'prometheus.yml')}`, `--storage.tsdb.path=${join(scratch, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog = (prometheusLog + chunk.toString()).slice(-20_000)));
    await waitUntil('prometheus ready', async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${prometheusLog}`);
    });
    // every target up before any video runs, so counters' first increases are seen
    await waitUntil(
      'all targets up',
      async () => {
        const up = await query('sum(up)');
        return Number(up[0]?.value[1]) === jobs.length ? true : undefined;
      },
      30_000,
    );
  }, 300_000);

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await stack?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  }, 60_000);

  async function query(expr: string) {
    const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body: unknown = await response.json();
    if (!response.ok) throw new Error(`query ${expr}: ${response.status} ${JSON.stringify(body)}`);
    return querySchema.parse(body).data.result;
  }

  const authorized = () => ({ Authorization: stack.authorization });

  async function submit(body: Record<string, unknown>, init?: Uint8Array): Promise<VideoView> {
    let response: Response;
    if (init === undefined) {
      response = await fetch(`${stack.apiUrl}/v1/videos`, { method: 'POST', headers: { ...authorized(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } else {
      const form = new FormData();
      form.append('request', JSON.stringify(body));
      form.append('init', new Blob([init]), 'init.png');
      response = await fetch(`${stack.apiUrl}/v1/videos`, { method: 'POST', headers: authorized(), body: form });
    }
    const answer = (await response.json()) as VideoView;
    expect(response.status, JSON.stringify(answer)).toBe(202);
    return answer;
  }

  async function finished(id: string): Promise<VideoView> {
    return waitUntil(
      `video ${id} finished`,
      async () => {
        const video = (await (await fetch(`${stack.apiUrl}/v1/videos/${id}`, { headers: authorized() })).json()) as VideoView;
        return ['succeeded', 'failed', 'cancelled'].includes(video.status) ? video : undefined;
      },
      300_000,
    );
  }

  it('evaluates every panel target of the dashboard to a series with data', async () => {
    const withWebhook = await submit({ prompt: 'a red circle moving right', seed: 1, ...FAST, webhook_url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
    const plain = await submit({ prompt: 'a blue square', seed: 2, ...FAST });
    const cancelled = await submit({ prompt: 'a green triangle', seed: 3, ...FAST });
    const cancel = await fetch(`${stack.apiUrl}/v1/videos/${cancelled.id}`, { method: 'DELETE', headers: authorized() });
    expect(cancel.status).toBe(202);
    // a PNG signature and no image after it: accepted by the API's sniffing, undecodable by the key-frame stage
    const broken = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(64)]);
    const failing = await submit({ prompt: 'a yellow star', seed: 4, ...FAST, init: { source: 'image', strength: 0.6 } }, broken);

    expect((await finished(withWebhook.id)).status).toBe('succeeded');
    expect((await finished(plain.id)).status).toBe('succeeded');
    expect((await finished(cancelled.id)).status).toBe('cancelled');
    const failed = await finished(failing.id);
    expect(failed.status, JSON.stringify(failed)).toBe('failed');

    const dashboard = dashboardSchema.parse(JSON.parse(await readFile(DASHBOARD, 'utf8')));
    const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: substitute(target.expr) })));
    expect(targets.length).toBeGreaterThanOrEqual(15);
    for (const { expr } of targets) expect(expr).not.toMatch(/\$/);

    // Scrapes land every second; the finished videos' last increments may need a couple of them.
    let empty: string[] = [];
    const deadline = Date.now() + 30_000;
    do {
      empty = [];
      for (const { panel, expr } of targets) {
        const series = await query(expr);
        if (!series.some((entry) => Number.isFinite(Number(entry.value[1])))) empty.push(`${panel}: ${expr} → ${JSON.stringify(series)}`);
      }
      if (empty.length > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    } while (empty.length > 0 && Date.now() < deadline);
    expect(empty, `panels without data:\n${empty.join('\n')}`).toEqual([]);

    // The counts themselves, not only their presence: each video counted once, by its status
    // (polled: a process's last increment reaches Prometheus at its next scrape).
    const count = async (expr: string) => Number((await query(expr))[0]?.value[1]);
    const expected = {
      'sum(magicvideo_videos_finished_total{status="succeeded"})': 2,
      'sum(magicvideo_videos_finished_total{status="cancelled"})': 1,
      'sum(magicvideo_videos_finished_total{status="failed"})': 1,
      'sum(magicvideo_videos_submitted_total)': 4,
    };
    const counted = async () => Object.fromEntries(await Promise.all(Object.keys(expected).map(async (expr) => [expr, await count(expr)] as const)));
    const settled = await waitUntil(
      'the counts scraped',
      async () => {
        const now = await counted();
        return Object.entries(expected).every(([expr, value]) => now[expr] === value) ? now : undefined;
      },
      15_000,
    ).catch(() => counted());
    expect(settled).toEqual(expected);
    expect(deliveries.length).toBeGreaterThan(0);
  }, 600_000);

  it('finds no panel that queries a metric nobody exports (the check above can fail)', async () => {
    const series = await query(substitute('sum(rate(magicvideo_no_such_metric_total[$__rate_interval]))'));
    expect(series).toEqual([]);
  });

  it('names the provisioned datasource in every panel, target and variable, at a current schema version', async () => {
    const provisioned = /^\s*uid:\s*(\S+)\s*$/m.exec(await readFile(DATASOURCE, 'utf8'))?.[1];
    expect(provisioned).toBe('magicvideo-prometheus');
    const dashboard = dashboardSchema.parse(JSON.parse(await readFile(DASHBOARD, 'utf8')));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const uids = [
      ...dashboard.panels.filter((panel) => panel.type !== 'row').map((panel) => panel.datasource?.uid),
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.datasource?.uid)),
      ...dashboard.templating.list.map((variable) => variable.datasource?.uid),
    ];
    expect(new Set(uids)).toEqual(new Set([provisioned]));
  });

  it('serves the queue UI at /admin/queues only with the admin key', async () => {
    const url = `${stack.apiUrl}/admin/queues`;
    const without = await fetch(url);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await fetch(url, { headers: { Authorization: 'Bearer not-the-admin-key' } })).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: stack.authorization } })).status).toBe(401);
    expect((await fetch(`${url}/api/queues`)).status).toBe(401);

    const page = await fetch(url, { headers: { Authorization: `Bearer ${ADMIN_API_KEY}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const basic = `Basic ${Buffer.from(`operator:${ADMIN_API_KEY}`).toString('base64')}`;
    const api = await fetch(`${url}/api/queues`, { headers: { Authorization: basic } });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name).sort();
    expect(names).toEqual(['decode', 'interp', 'keyframe', 'sr', 'webhooks']);
  });

  it('answers /metrics on the API without an API key, and on each worker\'s health port', async () => {
    for (const process of stack.processes) {
      const response = await fetch(`${process.url}/metrics`);
      expect(response.status, process.name).toBe(200);
      const text = await response.text();
      expect(text, process.name).toContain('magicvideo_process_cpu_seconds_total');
      expect(text, process.name).not.toMatch(/video_id|videoId/);
    }
  });
});
