#!/usr/bin/env node
// `npx magicvideo` (the root package.json's `bin`): runs the CLI from source with tsx, given the
// repo's root tsconfig so the workspace aliases resolve from any working directory.
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

// tsx reads the tsconfig path from here for both its ESM and CommonJS hooks
process.env.TSX_TSCONFIG_PATH ??= fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));
const { tsImport } = await import('tsx/esm/api');
await tsImport('../src/main.ts', import.meta.url);
