import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, for tests that spawn the apps from source. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface AppProcess {
  pid: number;
  /** The environment the app was started with (PATH aside). */
  env: Readonly<Record<string, string>>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs an app from source as its own OS process, the way a developer does with tsx, but as ONE
 * process: node with tsx's loader (`node --import tsx`, the app's tsconfig for the workspace path
 * aliases) rather than the `tsx` wrapper, which would run the app as its child so that a SIGKILL
 * reached only the wrapper and left the app running. Only `env` and PATH reach the app, so the
 * test controls its config.
 */
export function startAppProcess(
  appRoot: string,
  env: Record<string, string>,
  options: { onLine?: (line: string, stream: 'stdout' | 'stderr') => void } = {},
): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `${appRoot}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', TSX_TSCONFIG_PATH: `${appRoot}/tsconfig.json`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (options.onLine !== undefined) forwardLines(child, options.onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error(`could not spawn node for ${appRoot}`);
  return {
    pid: child.pid,
    env,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

function forwardLines(child: ReturnType<typeof spawn>, onLine: (line: string, stream: 'stdout' | 'stderr') => void): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    let pending = '';
    child[stream]?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line, stream);
    });
    child[stream]?.on('end', () => pending.length > 0 && onLine(pending, stream));
  }
}

export interface HttpAnswer {
  status: number;
  body: unknown;
}

/**
 * Polls `url` until its status is `status` (connection refused counts as not yet) and returns
 * that answer; after `timeoutMs` throws with the last answer seen.
 */
export async function waitForHttpStatus(url: string, status: number, timeoutMs = 20_000): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      last = `${response.status} ${text}`;
      if (response.status === status) return { status, body: text.length > 0 ? JSON.parse(text) : undefined };
    } catch (error) {
      last = `error: ${(error as Error).cause ?? (error as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
