import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPythonModule } from './python-module';

/**
 * The `small` model set (DESIGN.md §5: "small (CPU benchmarks)") as a model folder under the
 * gitignored `.cache/`. Its export is deterministic (`--seed 0`), so a folder is reused while
 * its manifest says `small` and the stamp beside it matches the modeling sources that made it;
 * anything else is exported again (a few minutes on 2 cores).
 */

export const SMALL_FOLDER = join('.cache', 'models', 'magicvideo-small');
export const SMALL_WEIGHTS_SEED = 0;

async function manifestConfigName(folder: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, 'model_index.json'), 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  const manifest: unknown = JSON.parse(text);
  return typeof manifest === 'object' &&
    manifest !== null &&
    'config_name' in manifest &&
    typeof manifest.config_name === 'string'
    ? manifest.config_name
    : undefined;
}

/** A hash of the modeling package's sources and pinned requirements: what decides the export's bytes. */
async function modelingSourcesStamp(repoRoot: string): Promise<string> {
  const packageDir = join(repoRoot, 'libs/models/src/magicvideo_models');
  const entries = await readdir(packageDir, { recursive: true });
  const sources = entries
    .filter((name) => name.endsWith('.py') && !/(^|\/)test_[^/]*\.py$/.test(name))
    .sort();
  const hash = createHash('sha256');
  for (const name of sources) hash.update(name).update(await readFile(join(packageDir, name)));
  hash.update(await readFile(join(repoRoot, 'libs/models/requirements.txt')));
  return hash.digest('hex');
}

async function readStamp(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The folder's path, exporting it first when it is missing, not `small`, or stale; `log` gets the export's lines. */
export async function ensureSmallModelFolder(
  repoRoot: string,
  log: (line: string) => void,
): Promise<{ folder: string; exportedMs?: number }> {
  const folder = join(repoRoot, SMALL_FOLDER);
  const stampPath = `${folder}.stamp`;
  const stamp = await modelingSourcesStamp(repoRoot);
  if ((await manifestConfigName(folder)) === 'small' && (await readStamp(stampPath)) === stamp)
    return { folder };
  log(
    `exporting the small model set to ${SMALL_FOLDER} (python -m magicvideo_models export --config small --seed ${SMALL_WEIGHTS_SEED})`,
  );
  const started = performance.now();
  await runPythonModule(
    repoRoot,
    'magicvideo_models',
    ['export', '--config', 'small', '--seed', String(SMALL_WEIGHTS_SEED), '--out', folder],
    (line) => log(`  ${line}`),
  );
  await writeFile(stampPath, `${stamp}\n`);
  return { folder, exportedMs: performance.now() - started };
}
