import { type AppProcess, startAppProcess, waitForHttpStatus } from './app-process';
import { findFreePort } from './free-port';
import { type RedisServerProcess, startRedisServer } from './redis-server-process';
import { startTestServices, type TestServices } from './test-services';

export interface AppUnderTest {
  app: AppProcess;
  /** `http://127.0.0.1:<port>` of the app's HTTP (API) or health (worker) server. */
  baseUrl: string;
  services: TestServices;
  /** Stops the app's own Redis, to watch readiness fail. */
  stopRedis(): Promise<void>;
  /** Starts the app's Redis again on the same port, to watch readiness recover. */
  restartRedis(): Promise<void>;
  /** Kills the app if it still runs, then stops Redis and the test services. */
  stop(): Promise<void>;
}

/**
 * Starts an app from source against the test services, but with a Redis of its own (a
 * redis-server this harness spawned) so a test can take Redis away and bring it back, and
 * resolves once `/healthz` answers. `portVariable` is PORT for the API, HEALTH_PORT for workers.
 */
export async function startAppUnderTest(
  appRoot: string,
  portVariable: 'PORT' | 'HEALTH_PORT',
  env: Record<string, string> = {},
): Promise<AppUnderTest> {
  const services = await startTestServices();
  let redis: RedisServerProcess = await startRedisServer();
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = startAppProcess(appRoot, {
    ...services.env,
    REDIS_URL: redis.url,
    [portVariable]: String(port),
    NODE_ENV: 'test',
    ...env,
  });
  const stop = async (): Promise<void> => {
    app.kill('SIGKILL');
    await redis.stop();
    await services.stop();
  };
  try {
    await waitForHttpStatus(`${baseUrl}/healthz`, 200, 60_000);
  } catch (error) {
    await stop();
    throw new Error(`${appRoot} did not start: ${(error as Error).message}\n${app.stderr()}\n${app.stdout()}`);
  }
  return {
    app,
    baseUrl,
    services,
    stopRedis: () => redis.stop(),
    async restartRedis() {
      redis = await startRedisServer({ port: redis.port });
    },
    stop,
  };
}
