// Runs the Python project's pytest suite in the repo's venv and records a JUnit file for the summary.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const projectRoot = process.argv[2] ?? 'libs/models';
const resultsDir = path.resolve('test-results');
mkdirSync(resultsDir, { recursive: true });
const junit = path.join(resultsDir, `pytest-${projectRoot.replaceAll('/', '-')}.xml`);
const result = spawnSync(
  path.resolve('.venv/bin/python'),
  ['-m', 'pytest', projectRoot, `--junitxml=${junit}`, ...process.argv.slice(3)],
  { stdio: 'inherit' },
);
// pytest exits 5 when it collected nothing: that is not a failure of the suite.
process.exit(result.status === 5 ? 0 : (result.status ?? 1));
