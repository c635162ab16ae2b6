import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '@magicvideo/shared/testing';
import { z } from 'zod';
import { runCommand } from './run-command';

/** PROMETHEUS_BIN, else `prometheus` on PATH (Debian's package; .ci/run installs it). */
export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? 'prometheus';

const querySchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});
export type InstantVector = z.infer<typeof querySchema>['data']['result'];

export interface PrometheusServer {
  url: string;
  /** An instant query through the HTTP API (`/api/v1/query`), as KEDA's Prometheus scaler sends it. */
  query(expr: string): Promise<InstantVector>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free loopback port, scraping `targets` (job name → host:port) every
 * second. Fails with a message saying how to install it when the binary is missing: the
 * deployment's scaling depends on Prometheus evaluating its queries, so this is never skipped.
 */
export async function startPrometheus(targets: Record<string, string>): Promise<PrometheusServer> {
  const version = await runCommand([PROMETHEUS_BIN, '--version']);
  if (version.code !== 0) {
    throw new Error(
      `Prometheus is needed and was not found (${PROMETHEUS_BIN}: ${version.stderr.trim() || `exit ${version.code}`}). ` +
        'Install it (Debian: apt-get install prometheus; .ci/run does) or set PROMETHEUS_BIN.',
    );
  }
  const scratch = await mkdtemp(join(tmpdir(), 'mv-prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    ...Object.entries(targets).flatMap(([job, target]) => [`  - job_name: ${job}`, '    static_configs:', `      - targets: ['${target}']`]),
  ].join('\n');
  await writeFile(join(scratch, 'prometheus.yml'), `${config}\n`);
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${join(scratch, 'prometheus.yml')}`, `--storage.tsdb.path=${join(scratch, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keepLog = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000));
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(scratch, { recursive: true, force: true });
  };
  const query = async (expr: string) => {
    const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body: unknown = await response.json();
    if (!response.ok) throw new Error(`query ${expr}: ${response.status} ${JSON.stringify(body)}`);
    return querySchema.parse(body).data.result;
  };
  try {
    await waitFor('prometheus ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  return { url, query, stop };
}

/** Polls `probe` every 250 ms until it returns a value (errors count as not yet), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
