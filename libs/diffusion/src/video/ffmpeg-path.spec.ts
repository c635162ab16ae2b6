import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegNotFound, resolveFfmpegPath } from './ffmpeg-path';

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ffmpeg-path-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('resolveFfmpegPath', () => {
  it("falls back to @ffmpeg-installer/ffmpeg's static binary when nothing is configured", async () => {
    const installer = await import('@ffmpeg-installer/ffmpeg');
    await expect(resolveFfmpegPath()).resolves.toBe(installer.default.path);
    await expect(resolveFfmpegPath({ configuredPath: '' })).resolves.toBe(installer.default.path);
  });

  it('prefers the configured binary', async () => {
    const configured = join(workDir, 'my-ffmpeg');
    await writeFile(configured, '#!/bin/sh\n');
    await chmod(configured, 0o755);
    await expect(resolveFfmpegPath({ configuredPath: configured })).resolves.toBe(configured);
  });

  it('throws FfmpegNotFound for a configured path that does not exist, instead of falling back', async () => {
    const missing = join(workDir, 'missing-ffmpeg');
    await expect(resolveFfmpegPath({ configuredPath: missing })).rejects.toThrow(FfmpegNotFound);
    await expect(resolveFfmpegPath({ configuredPath: missing })).rejects.toMatchObject({ code: 'FfmpegNotFound' });
  });

  it('throws FfmpegNotFound for a configured file that is not executable', async () => {
    const notExecutable = join(workDir, 'plain-file');
    await writeFile(notExecutable, 'not a program');
    await chmod(notExecutable, 0o644);
    await expect(resolveFfmpegPath({ configuredPath: notExecutable })).rejects.toThrow(/not an executable file/);
  });
});
