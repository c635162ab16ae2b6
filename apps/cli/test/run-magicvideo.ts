import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The repository root, where the CLI's source and the shipped model folder live. */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `magicvideo` as a real process from source, as `npx tsx apps/cli/src/main.ts` does
 * (tsx's binary directly: npx would add its own warnings to stderr). The repo's root tsconfig
 * gives tsx the workspace aliases from any working directory.
 */
export function runMagicvideo(args: readonly string[], options: { cwd?: string } = {}): Promise<CliRun> {
  const child = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'apps/cli/src/main.ts'), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json'), ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
