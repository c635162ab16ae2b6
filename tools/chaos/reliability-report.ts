// Assembles docs/reliability.md's tables from the figures the reliability suites wrote to
// test-results/reliability-*.jsonl (the fuzz, access and hostile-input specs of apps/api, the
// chaos suite, bench:load): `npx tsx tools/chaos/reliability-report.ts` rewrites the part of the
// doc between its two markers. Nothing here is typed in by hand; a suite that did not run shows
// as "not run".
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@magicvideo/shared/testing';

const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
const DOC = path.join(REPO_ROOT, 'docs', 'reliability.md');
const START = '<!-- reliability-tables:start (written by tools/chaos/reliability-report.ts) -->';
const END = '<!-- reliability-tables:end -->';

type Figures = Record<string, number | string | boolean | undefined>;
interface SuiteRecord {
  suite: string;
  measuredAt: string;
  figures: Figures;
}

function readRecords(): Map<string, SuiteRecord> {
  const records = new Map<string, SuiteRecord>();
  if (!existsSync(RESULTS_DIR)) return records;
  for (const file of readdirSync(RESULTS_DIR).filter((name) => /^reliability-.*\.jsonl$/.test(name)).sort()) {
    for (const line of readFileSync(path.join(RESULTS_DIR, file), 'utf8').split('\n').filter((text) => text.length > 0)) {
      const record = JSON.parse(line) as SuiteRecord;
      records.set(record.suite, record);
    }
  }
  return records;
}

const number = (value: Figures[string]): number => (typeof value === 'number' ? value : 0);
const cell = (value: Figures[string]): string => (value === undefined ? '–' : String(value));
const day = (record: SuiteRecord | undefined): string => record?.measuredAt.slice(0, 10) ?? 'not run';

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

const CHAOS_SCENARIOS = ['worker-sigkill', 'redis-restart', 's3-outage', 'webhook-receiver-down', 'poison-request', 'api-restart-sse', 'redis-slow-at-start'];

function render(records: Map<string, SuiteRecord>): string {
  const chaos = CHAOS_SCENARIOS.map((name) => ({ name, record: records.get(`chaos-${name}`) }));
  const ran = chaos.filter((entry) => entry.record !== undefined).map((entry) => entry.record!.figures);
  const fuzz = records.get('fuzz');
  const access = records.get('access-routes');
  const hostile = records.get('hostile-input');
  const load = records.get('load');
  const sum = (key: string) => ran.reduce((total, figures) => total + number(figures[key]), 0);

  const summary = table(
    ['faults injected', 'videos accepted', 'succeeded', 'failed as intended (poison)', 'lost (must be 0)', 'duplicated (must be 0)', 'requests fuzzed', '5xx seen (must be 0)', 'unauthenticated requests let through (must be 0)'],
    [[
      String(sum('faultsInjected')),
      String(sum('videosAccepted') + number(load?.figures.videosAccepted)),
      String(sum('videosSucceeded') + number(load?.figures.videosSucceeded)),
      String(sum('videosFailedAsExpected')),
      String(sum('videosLost') + number(load?.figures.videosLost)),
      String(sum('duplicated') + number(load?.figures.videosDuplicated)),
      cell(fuzz?.figures.requestsFuzzed),
      String(number(fuzz?.figures.serverErrors) + number(load?.figures.serverErrors)),
      cell(access?.figures.notRefused),
    ]],
  );
  const faults = table(
    ['fault', 'injected', 'accepted', 'succeeded', 'lost', 'duplicated', 'also measured', 'run'],
    chaos.map(({ name, record }) => {
      const figures = record?.figures ?? {};
      const known = new Set(['fault', 'faultsInjected', 'videosAccepted', 'videosSucceeded', 'videosLost', 'duplicated']);
      const extra = Object.entries(figures).filter(([key]) => !known.has(key)).map(([key, value]) => `${key}: ${cell(value)}`).join('; ');
      return [cell(figures.fault ?? name), cell(figures.faultsInjected), cell(figures.videosAccepted), cell(figures.videosSucceeded), cell(figures.videosLost), cell(figures.duplicated), extra || '–', day(record)];
    }),
  );
  const uploads = ['upload-chunked', 'upload-declared'].map((name) => ({ name, record: records.get(name) }));
  const hostileTable = table(
    ['check', 'figures', 'run'],
    [
      ['fuzzing (fast-check: bodies, content types, headers, ids, queries, Last-Event-ID, raw sockets)', `${cell(fuzz?.figures.requestsFuzzed)} requests, ${cell(fuzz?.figures.serverErrors)} 5xx, process up: ${cell(fuzz?.figures.processUp)}`, day(fuzz)],
      ['routes read from the running app', `${cell(access?.figures.routes)} routes, ${cell(access?.figures.guardedRoutes)} guarded, ${cell(access?.figures.unauthenticatedRequests)} requests without a valid key, ${cell(access?.figures.notRefused)} not refused with 401`, day(access)],
      ...uploads.map(({ name, record }) => [
        `endless upload, ${name === 'upload-chunked' ? 'chunked' : 'Content-Length 256 MiB'} (limit ${cell(hostile?.figures.uploadLimitBytes)} B)`,
        `client had written ${cell(record?.figures.clientBytesWrittenAtAnswer)} B when 413 came; server read ${cell(record?.figures.serverBytesRead)} B, peak RSS +${cell(record?.figures.serverPeakRssGrowth)} B`,
        day(record),
      ]),
      ['ids that are not ids (traversal, NUL, 100 kB)', `${cell(hostile?.figures.hostileIdsRefused)} requests, all 4xx`, day(hostile)],
    ],
  );
  const loadTable = load === undefined
    ? '_bench:load has not been run here (`npm run bench:load`)._'
    : table(['figure', 'value'], Object.entries(load.figures).map(([key, value]) => [key, cell(value)]));

  return [
    START,
    '',
    '### Summary',
    '',
    summary,
    '',
    '### Faults (`npm run test:chaos`)',
    '',
    faults,
    '',
    '### Hostile input and access (apps/api specs)',
    '',
    hostileTable,
    '',
    `### Load (\`npm run bench:load\`, ${day(load)})`,
    '',
    loadTable,
    '',
    END,
  ].join('\n');
}

const doc = readFileSync(DOC, 'utf8');
const start = doc.indexOf(START);
const end = doc.indexOf(END);
if (start < 0 || end < start) throw new Error(`${DOC} has no ${START} … ${END} block`);
writeFileSync(DOC, doc.slice(0, start) + render(readRecords()) + doc.slice(end + END.length));
process.stdout.write(`reliability-report: ${path.relative(REPO_ROOT, DOC)} updated from ${RESULTS_DIR}\n`);
