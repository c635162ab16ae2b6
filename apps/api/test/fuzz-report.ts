import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@magicvideo/shared/testing';

/**
 * Writes one suite's figures as `test-results/reliability-<name>.jsonl` (one JSON record, with
 * the time it was measured), so docs/reliability.md is assembled from what the tests saw, never
 * typed in (`npx tsx tools/chaos/reliability-report.ts`). JSON Lines rather than `.json`, which
 * tools/test-all.mjs reads as vitest reports, and flat because it reads every entry as a file.
 */
export function writeReliabilityRecord(name: string, figures: Record<string, number | string | boolean>): void {
  const resultsDir = path.join(REPO_ROOT, 'test-results');
  mkdirSync(resultsDir, { recursive: true });
  const record = { suite: name, measuredAt: new Date().toISOString(), figures };
  writeFileSync(path.join(resultsDir, `reliability-${name}.jsonl`), `${JSON.stringify(record)}\n`);
}
