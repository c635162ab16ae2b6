import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHUTDOWN_EXIT_CODES } from './graceful-shutdown';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const fixture = path.join(import.meta.dirname, 'graceful-shutdown.fixture.ts');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');

interface FixtureRun {
  stdoutLines: () => string[];
  stderr: () => string;
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ready: Promise<void>;
}

function startFixture(env: Record<string, string>): FixtureRun {
  const child = spawn(tsx, [fixture], { cwd: repoRoot, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    stdoutLines: () => stdout.split('\n').filter(Boolean),
    stderr: () => stderr,
    kill: (signal) => child.kill(signal),
    exited,
    ready,
  };
}

describe('installGracefulShutdown (in a real process)', () => {
  it('on SIGTERM stops taking work, runs closers in reverse order and exits 0', async () => {
    const run = startFixture({ SHUTDOWN_FIXTURE: 'clean' });
    await run.ready;
    run.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: SHUTDOWN_EXIT_CODES.clean, signal: null });
    expect(run.stdoutLines()).toEqual(['ready', 'stopping', 'closed health server', 'closed worker', 'closed connections']);
  });

  it('on SIGINT does the same', async () => {
    const run = startFixture({ SHUTDOWN_FIXTURE: 'clean' });
    await run.ready;
    run.kill('SIGINT');
    expect((await run.exited).code).toBe(SHUTDOWN_EXIT_CODES.clean);
  });

  it('runs the remaining closers after one throws, and exits non-zero naming it', async () => {
    const run = startFixture({ SHUTDOWN_FIXTURE: 'fail' });
    await run.ready;
    run.kill('SIGTERM');
    expect((await run.exited).code).toBe(SHUTDOWN_EXIT_CODES.failed);
    expect(run.stdoutLines()).toEqual(['ready', 'stopping', 'closed health server', 'closed connections']);
    expect(run.stderr()).toContain('"closer":"worker"');
    expect(run.stderr()).toContain('worker refused to close');
  });

  it('exits non-zero when the grace period expires', async () => {
    const run = startFixture({ SHUTDOWN_FIXTURE: 'hang', GRACE_MS: '300' });
    await run.ready;
    run.kill('SIGTERM');
    expect((await run.exited).code).toBe(SHUTDOWN_EXIT_CODES.graceExpired);
    expect(run.stdoutLines()).not.toContain('closed connections');
    expect(run.stderr()).toContain('grace period expired');
  });

  it('exits at once on a second signal', async () => {
    const run = startFixture({ SHUTDOWN_FIXTURE: 'hang', GRACE_MS: '60000' });
    await run.ready;
    run.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.kill('SIGTERM');
    expect((await run.exited).code).toBe(SHUTDOWN_EXIT_CODES.forced);
    expect(run.stderr()).toContain('second signal');
  });
});
