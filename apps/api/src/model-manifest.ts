import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { manifestSchema, type ModelFolderManifest } from '@magicvideo/shared';

/** The model folder's manifest could not be read or does not match the contract. */
export class InvalidModelManifest extends Error {
  readonly code = 'InvalidModelManifest';
  constructor(file: string, detail: string) {
    super(`InvalidModelManifest: ${file}: ${detail}`);
    this.name = 'InvalidModelManifest';
  }
}

/**
 * `MODELS_DIR/model_index.json`, read once at start: the API checks requests against it (FPS
 * range, which optional stages exist) without loading any model.
 */
export async function readModelManifest(modelsDir: string): Promise<ModelFolderManifest> {
  const file = path.join(modelsDir, 'model_index.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InvalidModelManifest(file, (error as Error).message);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidModelManifest(file, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}
