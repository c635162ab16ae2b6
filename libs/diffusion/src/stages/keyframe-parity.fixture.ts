import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensorsFile } from '@magicvideo/shared';
import type { SamplerName } from '../model-folder/manifest';
import type { FloatTensor } from '../sessions/tensor-dtypes';

/**
 * The key-frame parity fixture (test/fixtures/keyframe-parity), written from the tiny model
 * folder by the Python reference sampler: `python -m magicvideo_models.parity_vectors`.
 */
const fixtureDir = new URL('../../test/fixtures/keyframe-parity/', import.meta.url);

export interface ParityCase {
  name: string;
  sampler: SamplerName;
  steps: number;
  guidance_scale: number;
  eta: number;
  strength: number | null;
}

export interface KeyframeParityFixture {
  refresh: string;
  folder_sha256: string;
  digested_files: string[];
  prompt: { prompt: string; negative_prompt: string; seed: number; fps: number };
  cases: ParityCase[];
  tensors: Record<string, FloatTensor>;
}

export async function readKeyframeParityFixture(): Promise<KeyframeParityFixture> {
  const description = JSON.parse(await readFile(new URL('cases.json', fixtureDir), 'utf8')) as Omit<
    KeyframeParityFixture,
    'tensors'
  >;
  const file = await readSafetensorsFile(new URL('keyframe-parity.safetensors', fixtureDir).pathname);
  const tensors: Record<string, FloatTensor> = {};
  for (const [name, tensor] of Object.entries(file.tensors)) {
    if (tensor.dtype !== 'F32') throw new Error(`parity tensor ${name} is ${tensor.dtype}, expected F32`);
    tensors[name] = { data: Float32Array.from(tensor.data), dims: [...tensor.shape] };
  }
  return { ...description, tensors };
}

/** The same digest as parity_vectors.folder_digest: a mismatch means the fixture is stale. */
export async function modelFolderDigest(dir: string, files: readonly string[]): Promise<string> {
  const digest = createHash('sha256');
  for (const name of files) {
    digest.update(`${name}\0`);
    digest.update(await readFile(join(dir, name)));
  }
  return digest.digest('hex');
}

/** max|a − b| / max|b|: the parity measure (relative to the reference's largest value). */
export function relativeMaxError(actual: Float32Array, reference: Float32Array): number {
  if (actual.length !== reference.length) return Number.POSITIVE_INFINITY;
  let maxDifference = 0;
  let maxReference = 0;
  for (let i = 0; i < reference.length; i++) {
    maxDifference = Math.max(maxDifference, Math.abs((actual[i] as number) - (reference[i] as number)));
    maxReference = Math.max(maxReference, Math.abs(reference[i] as number));
  }
  return maxDifference / maxReference;
}
