import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPythonModule } from './python-module';

/**
 * The `small` model set (DESIGN.md §5: "small (CPU benchmarks)") as a model folder under the
 * gitignored `.cache/`. Its export is deterministic (`--seed 0`), so a folder whose manifest
 * says `small` is reused; anything else is exported again (a few minutes on 2 cores).
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
  return typeof manifest === 'object' && manifest !== null && 'config_name' in manifest && typeof manifest.config_name === 'string'
    ? manifest.config_name
    : undefined;
}

/** The folder's path, exporting it first when it is missing or not `small`; `log` gets the export's lines. */
export async function ensureSmallModelFolder(
  repoRoot: string,
  log: (line: string) => void,
): Promise<{ folder: string; exportedMs?: number }> {
  const folder = join(repoRoot, SMALL_FOLDER);
  if ((await manifestConfigName(folder)) === 'small') return { folder };
  log(`exporting the small model set to ${SMALL_FOLDER} (python -m magicvideo_models export --config small --seed ${SMALL_WEIGHTS_SEED})`);
  const started = performance.now();
  await runPythonModule(
    repoRoot,
    'magicvideo_models',
    ['export', '--config', 'small', '--seed', String(SMALL_WEIGHTS_SEED), '--out', folder],
    (line) => log(`  ${line}`),
  );
  return { folder, exportedMs: performance.now() - started };
}
