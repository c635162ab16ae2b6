import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const nestPackages = ['@nestjs/*', 'fastify', '@fastify/*'];
const queuesAndStorage = ['bullmq', 'ioredis', '@aws-sdk/*', 's3rver'];
const runtime = ['onnxruntime-node', 'onnxruntime-common', '@huggingface/tokenizers'];

export default tseslint.config(
  { ignores: ['**/node_modules', '**/dist', '.venv', '.nx', 'libs/models', 'assets', 'tools/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['apps/*/src/**/*.{ts,tsx}', 'apps/*/test/**/*.ts', 'libs/*/src/**/*.ts', 'libs/*/test/**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // DESIGN.md §2, the "may import" column, as Nx tags.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            {
              sourceTag: 'scope:shared',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: [...runtime, ...nestPackages],
            },
            {
              sourceTag: 'scope:diffusion',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: [...queuesAndStorage, ...nestPackages],
            },
            {
              sourceTag: 'scope:api',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: runtime,
            },
            { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:shared', 'scope:diffusion'] },
            {
              sourceTag: 'scope:cli',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:diffusion'],
              bannedExternalImports: [...queuesAndStorage, ...nestPackages],
            },
            {
              sourceTag: 'scope:playground',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: [...runtime, ...queuesAndStorage, ...nestPackages],
            },
            { sourceTag: 'lang:python', onlyDependOnLibsWithTags: [] },
          ],
        },
      ],
    },
  },
  {
    // The page is a browser bundle: it imports the API's schemas, not libs/shared's index (Redis, S3, Node).
    files: ['apps/playground/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@magicvideo/shared', message: 'import the API schemas from @magicvideo/shared/http-schemas' },
            { name: '@magicvideo/shared/testing', message: 'the test harness is for tests only' },
          ],
        },
      ],
    },
  },
);
