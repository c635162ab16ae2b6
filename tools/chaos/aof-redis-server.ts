import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findFreePort, redisAnswersPing } from '@magicvideo/shared/testing';

/**
 * A redis-server of the chaos suite's own, as production runs it (DESIGN.md §9: AOF on,
 * noeviction), on a free port over a temporary directory, which the test can restart: SIGTERM
 * (Redis flushes the AOF on the way down), then the same port and directory again.
 */
export interface AofRedisServer {
  url: string;
  port: number;
  /** stops the server and resolves once it has exited */
  stop(): Promise<void>;
  /** starts it again on the same port and directory, resolving once it answers PING */
  start(): Promise<void>;
  /** stops it for good and deletes its directory */
  destroy(): Promise<void>;
}

export async function startAofRedisServer(): Promise<AofRedisServer> {
  const port = await findFreePort();
  const directory = await mkdtemp(path.join(tmpdir(), 'mv-chaos-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 15_000;
    while (!(await redisAnswersPing(url))) {
      if (started.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${port} did not start:\n${output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
