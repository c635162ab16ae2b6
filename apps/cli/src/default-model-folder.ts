import { readFile, realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * The model folder `magicvideo` uses without `--models`: the one the project ships, relative to
 * the package root (never the working directory). The one place to name it, so a newly trained
 * folder replaces it here.
 */
export const DEFAULT_MODEL_FOLDER = 'assets/models/magicvideo-shapes';

/** The package whose root holds the shipped model folders. */
const PACKAGE_NAME = 'magicvideo';

async function packageNameAt(directory: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(directory, 'package.json'), 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return undefined;
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string' ? parsed.name : undefined;
}

/**
 * The package root: the nearest directory above the running script (links resolved, so an
 * `npx`/`node_modules/.bin` link works) whose package.json is the magicvideo package's. Works
 * the same from source (apps/cli/src/main.ts) and from the bundle (dist/apps/cli/main.js).
 */
export async function findPackageRoot(entryScript: string): Promise<string> {
  let directory = dirname(await realpath(resolve(entryScript)));
  for (;;) {
    if ((await packageNameAt(directory)) === PACKAGE_NAME) return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no ${PACKAGE_NAME} package.json above ${entryScript}; pass --models DIR`);
    directory = parent;
  }
}

export async function defaultModelFolder(entryScript: string): Promise<string> {
  return join(await findPackageRoot(entryScript), DEFAULT_MODEL_FOLDER);
}
