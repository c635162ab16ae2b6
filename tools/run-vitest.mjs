// Runs one TypeScript project's vitest suite and records its counts in test-results/ for the summary.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/run-vitest.mjs <project-root> [vitest args]');
  process.exit(2);
}
const resultsDir = path.resolve('test-results');
mkdirSync(resultsDir, { recursive: true });
const outputFile = path.join(resultsDir, `vitest-${projectRoot.replaceAll('/', '-')}.json`);
const result = spawnSync(
  'npx',
  [
    'vitest', 'run', '--config', `${projectRoot}/vitest.config.ts`, '--passWithNoTests',
    '--reporter=default', '--reporter=json', `--outputFile.json=${outputFile}`,
    ...process.argv.slice(3),
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
