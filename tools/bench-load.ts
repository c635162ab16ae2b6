// `npm run bench:load` (issue 9): N concurrent submissions and M SSE listeners against the
// distributed stack (API + stage workers as processes, a redis-server of its own, S3) on the tiny
// models. Every video must reach a terminal status, none lost or duplicated; prints API p50/p99
// latency for POST and GET, videos per minute, and Redis memory per queued video. A benchmark:
// figures printed, nothing asserted on time (STYLE.md); it exits non-zero only on a lost or
// duplicated video or a 5xx.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { STAGE_NAMES } from '../libs/shared/src/contracts/queue-names';
import { REPO_ROOT } from '../libs/shared/src/testing/app-process';
import { startDistributedStack } from '../libs/shared/src/testing/distributed-stack';
import { startRedisServer } from '../libs/shared/src/testing/redis-server-process';
import { ChaosClient, MODELS_DIR, TERMINAL_STATUSES } from './chaos/chaos-client';
import { listenToVideo } from './chaos/sse-listener';

const USAGE = 'usage: bench-load [--videos 200] [--listeners 50] [--steps 2] [--full] [--workers-per-stage 1] [--timeout-min 120]';

interface LoadArguments {
  videos: number;
  listeners: number;
  steps: number;
  /** all four stages (interpolation and SR) rather than key frames and decode only */
  full: boolean;
  workersPerStage: number;
  timeoutMs: number;
}

function readArguments(argv: string[]): LoadArguments {
  const { values } = parseArgs({
    args: argv,
    options: {
      videos: { type: 'string', default: '200' },
      listeners: { type: 'string', default: '50' },
      steps: { type: 'string', default: '2' },
      full: { type: 'boolean', default: false },
      'workers-per-stage': { type: 'string', default: '1' },
      'timeout-min': { type: 'string', default: '120' },
    },
  });
  const positive = (name: string, text: string | undefined): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer\n${USAGE}`);
    return value;
  };
  const videos = positive('videos', values.videos);
  return {
    videos,
    listeners: Math.min(videos, positive('listeners', values.listeners)),
    steps: positive('steps', values.steps),
    full: values.full ?? false,
    workersPerStage: positive('workers-per-stage', values['workers-per-stage']),
    timeoutMs: positive('timeout-min', values['timeout-min']) * 60_000,
  };
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Redis `used_memory` in bytes. */
async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]);
}

async function main(): Promise<void> {
  const options = readArguments(process.argv.slice(2));
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  process.stdout.write(`bench:load: starting the stack (${options.workersPerStage} worker(s) per stage) on ${MODELS_DIR} …\n`);
  const stack = await startDistributedStack({
    modelsDir: MODELS_DIR,
    env: {
      REDIS_URL: redisServer.url,
      LOG_LEVEL: 'warn',
      ORT_INTRA_OP_THREADS: '1',
      RATE_LIMIT_BURST: String(options.videos * 2),
      RATE_LIMIT_PER_MINUTE: String(options.videos * 2),
    },
  });
  try {
    for (let extra = 1; extra < options.workersPerStage; extra += 1) await Promise.all(STAGE_NAMES.map((stage) => stack.startWorker(stage)));
    const client = ChaosClient.of(stack);
    const body = (index: number) => ({
      prompt: ['a red circle moving right', 'a blue square moving up', 'a green triangle moving left'][index % 3],
      seed: 1000 + index,
      num_inference_steps: options.steps,
      ...(options.full ? { interp_num_inference_steps: 1, sr_num_inference_steps: 1 } : { interpolate: false, super_resolution: false }),
    });

    const memoryBefore = await usedMemory(redis);
    const startedAt = performance.now();
    const postMs: number[] = [];
    const statuses = new Map<number, number>();
    const ids = (
      await Promise.all(
        Array.from({ length: options.videos }, async (_, index) => {
          const sent = performance.now();
          const answer = await client.submit(body(index));
          postMs.push(performance.now() - sent);
          statuses.set(answer.httpStatus, (statuses.get(answer.httpStatus) ?? 0) + 1);
          return answer.httpStatus === 202 ? answer.id : undefined;
        }),
      )
    ).filter((id): id is string => id !== undefined);
    const memoryQueued = await usedMemory(redis);
    process.stdout.write(`bench:load: ${ids.length}/${options.videos} accepted; ${options.listeners} SSE listeners; waiting for every video …\n`);

    const listeners = ids.slice(0, options.listeners).map((id) => listenToVideo(() => stack.apiUrl, stack.authorization, id, { timeoutMs: options.timeoutMs }));
    const getMs: number[] = [];
    const terminal = new Map<string, string>();
    const deadline = Date.now() + options.timeoutMs;
    let getServerErrors = 0;
    while (terminal.size < ids.length && Date.now() < deadline) {
      for (const id of ids) {
        if (terminal.has(id)) continue;
        const sent = performance.now();
        const response = await fetch(`${stack.apiUrl}/v1/videos/${id}`, { headers: { Authorization: stack.authorization } });
        const video = (await response.json()) as { status: string };
        getMs.push(performance.now() - sent);
        if (response.status >= 500) getServerErrors += 1;
        if (TERMINAL_STATUSES.includes(video.status)) terminal.set(id, video.status);
      }
      process.stdout.write(`\rbench:load: ${terminal.size}/${ids.length} terminal after ${round((performance.now() - startedAt) / 1000)} s   `);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const elapsedMs = performance.now() - startedAt;
    process.stdout.write('\n');
    const listenerResults = await Promise.allSettled(listeners.map((listener) => listener.done));
    const listed = await client.listIds();

    const succeeded = [...terminal.values()].filter((status) => status === 'succeeded').length;
    const figures = {
      videosSubmitted: options.videos,
      videosAccepted: ids.length,
      videosSucceeded: succeeded,
      videosOtherTerminal: terminal.size - succeeded,
      videosLost: ids.length - terminal.size,
      videosDuplicated: listed.length - new Set(listed).size + listed.filter((id) => !ids.includes(id)).length,
      sseListeners: listeners.length,
      sseListenersComplete: listenerResults.filter((result) => result.status === 'fulfilled').length,
      sseEventsReceived: listeners.reduce((sum, listener) => sum + listener.eventIds.length, 0),
      postP50Ms: round(percentile(postMs, 0.5)),
      postP99Ms: round(percentile(postMs, 0.99)),
      getP50Ms: round(percentile(getMs, 0.5)),
      getP99Ms: round(percentile(getMs, 0.99)),
      getRequests: getMs.length,
      serverErrors: [...statuses.entries()].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0) + getServerErrors,
      videosPerMinute: round((terminal.size / elapsedMs) * 60_000, 2),
      elapsedSeconds: round(elapsedMs / 1000),
      redisBytesPerQueuedVideo: Math.round((memoryQueued - memoryBefore) / Math.max(1, ids.length)),
      stepsPerVideo: options.steps,
      pipeline: options.full ? 'keyframe+interp+decode+sr' : 'keyframe+decode',
      workersPerStage: options.workersPerStage,
      cpus: availableParallelism(),
      loadAverageAtEnd: round(loadavg()[0] ?? 0, 2),
    };
    console.table(figures);
    process.stdout.write(`POST statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    const resultsDir = path.join(REPO_ROOT, 'test-results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'reliability-load.jsonl'), `${JSON.stringify({ suite: 'load', measuredAt: new Date().toISOString(), figures })}\n`);
    if (figures.videosLost > 0 || figures.videosDuplicated > 0 || figures.serverErrors > 0) process.exitCode = 1;
  } finally {
    await redis.quit();
    // the figures are out; a failure to clean the stack's test bucket is reported, not a failed benchmark
    await stack.stop().catch((error: unknown) => process.stderr.write(`bench:load: stopping the stack failed: ${String(error)}\n`));
    await redisServer.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
