import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md §2's "may import" column is enforced by @nx/enforce-module-boundaries in eslint.config.mjs.
// These tests plant a violating import in each layer (in memory, never on disk) and expect lint to fail.
const workspaceRoot = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: workspaceRoot });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(workspaceRoot, filePath) });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === '@nx/enforce-module-boundaries')
    .map((message) => message.message);
}

describe('module boundaries (DESIGN.md §2)', () => {
  it('refuses onnxruntime-node in libs/shared', async () => {
    const errors = await boundaryErrors(
      'libs/shared/src/planted.ts',
      "import * as ort from 'onnxruntime-node';\nexport const planted = ort;\n",
    );
    expect(errors.join('\n')).toContain('onnxruntime-node');
  });

  it('refuses Nest in libs/shared', async () => {
    const errors = await boundaryErrors(
      'libs/shared/src/planted.ts',
      "import { Module } from '@nestjs/common';\nexport const planted = Module;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('refuses bullmq, ioredis and the AWS SDK in libs/diffusion', async () => {
    for (const banned of ['bullmq', 'ioredis', '@aws-sdk/client-s3']) {
      const errors = await boundaryErrors(
        'libs/diffusion/src/planted.ts',
        `import * as planted from '${banned}';\nexport const value = planted;\n`,
      );
      expect(errors.join('\n'), banned).toContain(banned);
    }
  });

  it('refuses libs/diffusion in the API', async () => {
    const errors = await boundaryErrors(
      'apps/api/src/planted.ts',
      "import * as diffusion from '@magicvideo/diffusion';\nexport const planted = diffusion;\n",
    );
    expect(errors).toHaveLength(1);
  });

  it('refuses an app importing another app', async () => {
    const errors = await boundaryErrors(
      'apps/worker-keyframe/src/planted.ts',
      "import * as api from '../../api/src/main';\nexport const planted = api;\n",
    );
    expect(errors.length).toBeGreaterThan(0);
  });

  it('accepts the allowed direction: a worker importing both libs', async () => {
    const errors = await boundaryErrors(
      'apps/worker-decode/src/planted.ts',
      "import * as shared from '@magicvideo/shared';\nimport * as diffusion from '@magicvideo/diffusion';\nexport const planted = [shared, diffusion];\n",
    );
    expect(errors).toEqual([]);
  });
});
