import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../../..');

describe('loadConfigOrExit', () => {
  it('prints every bad variable to stderr and exits with code 78', async () => {
    const script = [
      "import { loadConfigOrExit, readApiConfig } from './libs/shared/src/config/index.ts';",
      'loadConfigOrExit(readApiConfig);',
      "console.log('started');",
    ].join('\n');
    const failure = await run('npx', ['tsx', '--eval', script], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, REDIS_URL: 'notaurl' },
    }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(78);
    expect(failure?.stdout).toBe('');
    expect(failure?.stderr).toContain('REDIS_URL: expected a redis:// or rediss:// URL, got "notaurl"');
    expect(failure?.stderr).toContain('S3_BUCKET: expected a bucket name');
  });
});
