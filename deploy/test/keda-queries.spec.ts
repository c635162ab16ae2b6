import { randomBytes } from 'node:crypto';
import {
  createLogger,
  type HealthServer,
  isValidQueuePrefix,
  QUEUE_NAMES,
  type QueueName,
  registerQueueDepthMetrics,
  renderMetrics,
  STAGE_NAMES,
  startHealthServer,
} from '@magicvideo/shared';
import { findTestRedis, type TestRedis } from '@magicvideo/shared/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrometheusServer, startPrometheus, waitFor } from './support/prometheus-server';
import { KUSTOMIZATIONS, renderKustomization, scaledObjectQueries } from './support/rendered-manifests';

/**
 * Issue 8's "done when": real Redis, the real exporter (the queue depth gauges of
 * libs/shared/src/metrics on a /metrics server, as the API registers them) and a real
 * Prometheus scraping it; each stage's ScaledObject query, read verbatim from the rendered
 * manifests, is evaluated as KEDA's Prometheus scaler would. One plain and one prioritised job
 * waiting in a stage's queue must read 2 — KEDA's Redis list scaler would see 1, since BullMQ
 * keeps prioritised jobs in a sorted set — and jobs of other queues or of states that need no
 * worker (delayed, completed) must not count.
 */

describe("KEDA's queries on the exported queue depth, through a real Prometheus", () => {
  let redis: TestRedis;
  let prometheus: PrometheusServer;
  let exporter: HealthServer;
  let queues: Record<QueueName, Queue>;
  let queries: Record<string, string>;
  // This test's own hash-tagged prefix, shaped like production's {mv}, so parallel tests never share keys.
  const prefix = `{mv-keda-${randomBytes(4).toString('hex')}}`;

  beforeAll(async () => {
    queries = scaledObjectQueries(await renderKustomization(KUSTOMIZATIONS.gpu));
    redis = await findTestRedis();
    const connection = { url: redis.url };
    queues = Object.fromEntries(QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix })])) as Record<QueueName, Queue>;
    registerQueueDepthMetrics(Object.values(queues));
    exporter = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      checks: {},
      logger: createLogger({ service: 'keda-queries-test', level: 'silent', nodeEnv: 'test' }),
      metrics: renderMetrics,
    });
    prometheus = await startPrometheus({ api: `127.0.0.1:${exporter.port}` });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.close();
    for (const queue of Object.values(queues ?? {})) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await redis?.stop();
  });

  /** Resolves once Prometheus has a sample of the exporter scraped after this call began. */
  async function freshScrape(): Promise<void> {
    const since = Date.now() / 1000;
    await waitFor(
      'a scrape after the change',
      async () => {
        // timestamp() of a plain selector is the sample's scrape time (of an expression, the evaluation time)
        const [sample] = await prometheus.query('timestamp(up{job="api"})');
        const [up] = await prometheus.query('up{job="api"}');
        return sample !== undefined && Number(sample.value[1]) > since && up?.value[1] === '1' ? true : undefined;
      },
      30_000,
    );
  }

  async function valueOf(expr: string): Promise<number | undefined> {
    const result = await prometheus.query(expr);
    expect(result.length, `${expr} returned ${result.length} series`).toBeLessThanOrEqual(1);
    return result[0] === undefined ? undefined : Number(result[0].value[1]);
  }

  it('uses the hash-tagged prefix shape the ConfigMap gives', () => {
    expect(isValidQueuePrefix(prefix)).toBe(true);
    expect(Object.keys(queries).sort()).toEqual([...STAGE_NAMES].sort());
  });

  it("reads 2 for each stage with one plain and one prioritised job waiting, whatever waits elsewhere", async () => {
    for (const stage of STAGE_NAMES) {
      await queues[stage].add('plain', { stage });
      await queues[stage].add('prioritised', { stage }, { priority: 5 });
      await queues[stage].add('later', { stage }, { delay: 3_600_000 });
    }
    for (let index = 0; index < 3; index++) await queues.webhooks.add('delivery', { index });
    await freshScrape();

    for (const stage of STAGE_NAMES) {
      expect(await valueOf(queries[stage] as string), `${stage}: ${queries[stage]}`).toBe(2);
      // the exported states the query adds: one in the wait list, one in the prioritised set
      expect(await valueOf(`magicvideo_queue_jobs{queue="${stage}",state="waiting"}`)).toBe(1);
      expect(await valueOf(`magicvideo_queue_jobs{queue="${stage}",state="prioritized"}`)).toBe(1);
    }
  });

  it('keeps counting a job a worker has taken until it completes, so a busy worker is not scaled away', async () => {
    const worker = new Worker('sr', null, { connection: { url: redis.url }, prefix, autorun: false });
    try {
      const token = 'keda-test-token';
      const job = await worker.getNextJob(token);
      expect(job).toBeDefined();
      await freshScrape();
      expect(await valueOf('magicvideo_queue_jobs{queue="sr",state="active"}')).toBe(1);
      expect(await valueOf(queries['sr'] as string)).toBe(2);

      await job?.moveToCompleted('done', token, false);
      await freshScrape();
      expect(await valueOf(queries['sr'] as string)).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('gives the CPU overlay the same queries', async () => {
    expect(scaledObjectQueries(await renderKustomization(KUSTOMIZATIONS.cpu))).toEqual(queries);
  });
});
