import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

/** One vitest configuration for every TypeScript project: aliases mirror tsconfig.base.json's paths. */
export function projectVitestConfig(projectRoot: string, options: { testTimeoutMs?: number } = {}) {
  return defineConfig({
    root: `${root}${projectRoot}`,
    resolve: {
      alias: [
        { find: /^@magicvideo\/shared\/testing$/, replacement: `${root}libs/shared/src/testing/index.ts` },
        { find: /^@magicvideo\/shared$/, replacement: `${root}libs/shared/src/index.ts` },
        { find: /^@magicvideo\/diffusion$/, replacement: `${root}libs/diffusion/src/index.ts` },
      ],
    },
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      testTimeout: options.testTimeoutMs ?? 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}
