import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { findFreePort } from './free-port';

export interface RedisServerProcess {
  url: string;
  port: number;
  /** SIGTERM, then wait for the process to exit. */
  stop(): Promise<void>;
}

/** Answers whether a Redis at `url` replies PONG within `timeoutMs`, without retrying. */
export async function redisAnswersPing(url: string, timeoutMs = 500): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // Failures surface through connect()'s rejection; the error event only needs a listener.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch (error) {
    if (error instanceof Error) return false;
    throw error;
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts `redis-server` from PATH on 127.0.0.1 (a free port unless one is given), with no
 * persistence, and resolves once it answers PING.
 */
export async function startRedisServer(options: { port?: number; startTimeoutMs?: number } = {}): Promise<RedisServerProcess> {
  const port = options.port ?? (await findFreePort());
  const url = `redis://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const spawnError = once(child, 'error').then(([error]) => error as Error);

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await redisAnswersPing(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const reason = await Promise.race([spawnError, new Promise((resolve) => setTimeout(resolve, 100, undefined))]);
      throw new Error(`redis-server on port ${port} did not start${reason ? `: ${String(reason)}` : ''}\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
