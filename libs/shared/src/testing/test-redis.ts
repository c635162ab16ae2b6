import { detectDockerEngine } from './docker-engine';
import { redisAnswersPing, startRedisServer } from './redis-server-process';

/** Where the test Redis came from, in the order DESIGN.md §10 tries them. */
export type RedisSource = 'env' | 'localhost' | 'spawned';

export interface TestRedis {
  url: string;
  source: RedisSource;
  /** Why earlier branches were passed over, for the test log. */
  notes: string[];
  /** Stops the server if this harness started it; a shared Redis is left running. */
  stop(): Promise<void>;
}

export interface FindTestRedisOptions {
  /** Force one branch (tests of the harness itself); `auto` walks the order. */
  prefer?: 'auto' | RedisSource;
  env?: NodeJS.ProcessEnv;
}

const LOCALHOST_URL = 'redis://127.0.0.1:6379';

/**
 * DESIGN.md §10: REDIS_URL; else localhost:6379 if it answers PING; else a testcontainers Redis
 * if Docker answers (not available in this repo: the package is not a dependency, so the branch
 * is reported and skipped); else `redis-server` from PATH on a free port.
 */
export async function findTestRedis(options: FindTestRedisOptions = {}): Promise<TestRedis> {
  const env = options.env ?? process.env;
  const prefer = options.prefer ?? 'auto';
  const notes: string[] = [];
  const shared = (url: string, source: RedisSource): TestRedis => ({ url, source, notes, stop: async () => undefined });

  if (prefer === 'auto' || prefer === 'env') {
    if (env.REDIS_URL) return shared(env.REDIS_URL, 'env');
    if (prefer === 'env') throw new Error('REDIS_URL is not set');
    notes.push('REDIS_URL not set');
  }
  if (prefer === 'auto' || prefer === 'localhost') {
    if (await redisAnswersPing(LOCALHOST_URL)) return shared(LOCALHOST_URL, 'localhost');
    if (prefer === 'localhost') throw new Error(`no Redis answers PING at ${LOCALHOST_URL}`);
    notes.push(`no Redis at ${LOCALHOST_URL}`);
  }
  if (prefer === 'auto') {
    const docker = await detectDockerEngine(env);
    notes.push(
      docker.available
        ? `Docker answers at ${docker.socketPath}, but the testcontainers branch is unavailable: the package is not a dependency`
        : `testcontainers branch skipped: ${docker.reason}`,
    );
  }
  const server = await startRedisServer();
  return { url: server.url, source: 'spawned', notes, stop: server.stop };
}
