// `npm test`: sets up the Python environment, runs every project's tests (TypeScript and Python)
// through Nx, then prints one summary line counting both languages: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const resultsDir = path.resolve('test-results');
rmSync(resultsDir, { recursive: true, force: true });

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const setup = spawnSync('bash', ['tools/python-env.sh'], { stdio: 'inherit', env });
if (setup.status !== 0) {
  console.error('test: could not create the Python environment (tools/python-env.sh)');
  process.exit(1);
}
const run = spawnSync(
  'npx',
  ['nx', 'run-many', '-t', 'test', '--parallel=1', '--outputStyle=stream', '--nxBail=false', ...process.argv.slice(2)],
  { stdio: 'inherit', env },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const files = existsSync(resultsDir) ? readdirSync(resultsDir) : [];
// only the runners' reports: suites also leave artifacts here (screenshots, reliability figures)
for (const file of files.filter((name) => name.endsWith('.json') || name.endsWith('.xml'))) {
  const text = readFileSync(path.join(resultsDir, file), 'utf8');
  if (file.endsWith('.json')) {
    const report = JSON.parse(text);
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  } else if (file.endsWith('.xml')) {
    const suite = /<testsuite\b[^>]*>/.exec(text)?.[0] ?? '';
    const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
    const errors = attr('errors') + attr('failures');
    skipped += attr('skipped');
    failed += errors;
    passed += attr('tests') - errors - attr('skipped');
  }
}
const runFailed = run.status !== 0;
if (runFailed && failed === 0) failed = 1; // a suite that crashed before reporting still fails the run
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(runFailed || failed > 0 ? 1 : 0);
