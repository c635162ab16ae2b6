import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

/**
 * The repo's Python (DESIGN.md §9: one virtual environment at the root) running a module of
 * `magicvideo_models`. The benchmark needs it for what only the modeling half can do: export the
 * `small` folder, write the MatMul model, count FLOPs, run PyTorch.
 */

export class PythonModuleFailed extends Error {
  readonly code = 'PythonModuleFailed';
  constructor(module: string, detail: string) {
    super(`python -m ${module} failed: ${detail}`);
    this.name = 'PythonModuleFailed';
  }
}

export function pythonPath(repoRoot: string): string {
  return join(repoRoot, '.venv', 'bin', 'python');
}

export function spawnPythonModule(repoRoot: string, module: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(pythonPath(repoRoot), ['-m', module, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a module to its end; its stdout lines go to `onLine` as they come (progress of a long export). */
export async function runPythonModule(
  repoRoot: string,
  module: string,
  args: readonly string[],
  onLine: (line: string) => void = () => undefined,
): Promise<void> {
  const child = spawnPythonModule(repoRoot, module, args);
  child.stdin.end();
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (pending !== '') onLine(pending);
  if (exitCode !== 0) throw new PythonModuleFailed(module, `exit code ${exitCode}: ${lastLines(stderr)}`);
}

export function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
