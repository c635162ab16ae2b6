import { fileURLToPath } from 'node:url';

/** Where the playground's sources, build output and schema import resolve, shared by vite.config.ts, vitest.config.ts and the e2e test. */
export const PLAYGROUND_ROOT = fileURLToPath(new URL('.', import.meta.url));
const workspaceRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The build output: what the API process serves at `/` (apps/api/src/playground/serve-playground.ts). */
export const PLAYGROUND_OUT_DIR = `${workspaceRoot}dist/apps/playground`;

/** The page imports the API's schemas alone, not libs/shared's index (which pulls in Redis and S3 clients). */
export const HTTP_SCHEMAS_ALIAS = {
  find: /^@magicvideo\/shared\/http-schemas$/,
  replacement: `${workspaceRoot}libs/shared/src/api/http-schemas.ts`,
};
