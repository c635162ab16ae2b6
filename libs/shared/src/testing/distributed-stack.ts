import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { type AppProcess, startAppProcess, waitForHttpStatus } from './app-process';
import { findFreePort } from './free-port';
import { startTestServices, type TestServices } from './test-services';

/**
 * The distributed system of DESIGN.md §3 on one machine: the API and the four stage workers,
 * each its own OS process started from source, against real Redis and S3. Used by the
 * end-to-end tests, `npm run bench:overhead` and `npm run stack`.
 */

export const STACK_DEV_API_KEY = 'dev-key';

export interface StackProcess {
  name: string;
  app: AppProcess;
  /** the API's HTTP port, or a worker's health port */
  url: string;
}

export interface DistributedStack {
  apiUrl: string;
  /** `Authorization` header value of the stack's API key */
  authorization: string;
  services: TestServices;
  /** environment shared by every process (Redis, S3, queue prefix, models) */
  env: Record<string, string>;
  processes: StackProcess[];
  /** Starts one more worker of a stage (e.g. to take over from a killed one); resolves when it is ready. */
  startWorker(stage: StageName, env?: Record<string, string>): Promise<StackProcess>;
  stop(): Promise<void>;
}

export interface StartDistributedStackOptions {
  modelsDir: string;
  /** extra environment for every process */
  env?: Record<string, string>;
  /** extra environment per stage worker */
  workerEnv?: Partial<Record<StageName, Record<string, string>>>;
  /** stages to start no worker for (a test starts its own) */
  withoutWorkers?: readonly StageName[];
  /** `API_KEYS` of the API; defaults to `dev:dev-key` */
  apiKeys?: string;
  /** API port (a free one when left out) */
  apiPort?: number;
  /** Called with each line any process prints, e.g. to prefix and forward logs. */
  onLine?: (processName: string, line: string) => void;
  /** How long each process may take to become ready (models load at start). */
  readyTimeoutMs?: number;
}

export async function startDistributedStack(options: StartDistributedStackOptions): Promise<DistributedStack> {
  const services = await startTestServices();
  const processes: StackProcess[] = [];
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const env: Record<string, string> = {
    ...services.env,
    MODELS_DIR: options.modelsDir,
    NODE_ENV: 'test',
    SHUTDOWN_GRACE_MS: '5000',
    ...options.env,
  };

  const spawn = async (name: string, appRoot: string, portVariable: 'PORT' | 'HEALTH_PORT', extra: Record<string, string>, port?: number) => {
    const chosenPort = port ?? (await findFreePort());
    const onLine = options.onLine;
    const app = startAppProcess(appRoot, { ...env, ...extra, [portVariable]: String(chosenPort) }, onLine ? { onLine: (line) => onLine(name, line) } : {});
    const started: StackProcess = { name, app, url: `http://127.0.0.1:${chosenPort}` };
    processes.push(started);
    try {
      await waitForHttpStatus(`${started.url}/readyz`, 200, readyTimeoutMs);
    } catch (error) {
      throw new Error(`${name} did not become ready: ${(error as Error).message}\n${app.stderr().slice(-4000)}\n${app.stdout().slice(-4000)}`);
    }
    return started;
  };

  const stop = async (): Promise<void> => {
    await Promise.all(
      processes.map(async ({ app }) => {
        app.kill('SIGTERM');
        const timer = setTimeout(() => app.kill('SIGKILL'), 10_000);
        await app.exited;
        clearTimeout(timer);
      }),
    );
    await services.stop();
  };

  const workerCounts = new Map<StageName, number>();
  const startWorker = (stage: StageName, extra: Record<string, string> = {}) => {
    const count = (workerCounts.get(stage) ?? 0) + 1;
    workerCounts.set(stage, count);
    return spawn(`${stage}${count > 1 ? `#${count}` : ''}`, `apps/worker-${stage}`, 'HEALTH_PORT', { ...options.workerEnv?.[stage], ...extra });
  };

  try {
    const api = await spawn('api', 'apps/api', 'PORT', {
      API_KEYS: options.apiKeys ?? `dev:${STACK_DEV_API_KEY}`,
      S3_CREATE_BUCKET: 'true',
      // receivers in tests and `npm run stack` listen on loopback over http (overridable through options.env)
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      WEBHOOK_REQUIRE_HTTPS: 'false',
      ...options.env,
    }, options.apiPort);
    // Workers load their models at start; starting them together overlaps the loading.
    await Promise.all(STAGE_NAMES.filter((stage) => !options.withoutWorkers?.includes(stage)).map((stage) => startWorker(stage)));
    return {
      apiUrl: api.url,
      authorization: `Bearer ${apiKeyOf(options.apiKeys)}`,
      services,
      env,
      processes,
      startWorker,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first key of an `id:secret,…` list, or the dev key. */
function apiKeyOf(apiKeys: string | undefined): string {
  if (apiKeys === undefined) return STACK_DEV_API_KEY;
  const first = apiKeys.split(',')[0] ?? '';
  return first.slice(first.indexOf(':') + 1);
}
