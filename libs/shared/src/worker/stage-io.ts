import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACT_FILES, type ArtifactName } from '../contracts/artifact-keys';
import { decodeSafetensors, encodeSafetensors, type DtypeArrays, type SafetensorsDtype, type TensorMap } from '../safetensors/safetensors';
import { StageError } from './stage-error';
import type { StageJob } from './stage-job-runner';

/**
 * A stage's reads and writes of its artifacts (DESIGN.md §4): inputs only from the keys its job
 * data names, outputs only under its own artifact names, so a re-run reads the same inputs and
 * writes the same bytes to the same keys.
 */

/** The raw bytes of an input artifact; the job data must name it at its contract key. */
export async function readStageInput(job: Pick<StageJob, 'data' | 'artifacts'>, artifact: ArtifactName): Promise<Uint8Array> {
  const { videoId, inputs, stage } = job.data;
  const key = inputs[artifact];
  if (key === undefined) throw new StageError('InvalidStageInput', `the ${stage} job names no ${artifact} input`);
  const expected = job.artifacts.key(videoId, artifact);
  if (key !== expected) throw new StageError('InvalidStageInput', `input ${artifact} is at ${key}, expected ${expected}`);
  return job.artifacts.getBytes(videoId, artifact);
}

/** One tensor of an input safetensors artifact, checked for its dtype and rank. */
export async function readTensorInput<D extends SafetensorsDtype>(
  job: Pick<StageJob, 'data' | 'artifacts'>,
  artifact: ArtifactName,
  tensor: string,
  expected: { dtype: D; rank: number },
): Promise<{ shape: number[]; data: DtypeArrays[D] }> {
  const { tensors } = decodeSafetensors(await readStageInput(job, artifact));
  const found = tensors[tensor];
  const file = ARTIFACT_FILES[artifact];
  if (found === undefined) throw new StageError('InvalidStageInput', `${file} has no "${tensor}" tensor`);
  if (found.dtype !== expected.dtype || found.shape.length !== expected.rank) {
    throw new StageError(
      'InvalidStageInput',
      `${file} "${tensor}" is ${found.dtype} [${found.shape.join(', ')}], expected ${expected.dtype} of rank ${expected.rank}`,
    );
  }
  return { shape: [...found.shape], data: found.data as DtypeArrays[D] };
}

/** Writes tensors as a safetensors artifact; returns its key. */
export async function putTensorOutput(
  job: Pick<StageJob, 'data' | 'artifacts'>,
  artifact: ArtifactName,
  tensors: TensorMap,
  metadata: Record<string, string> = {},
): Promise<string> {
  const { artifacts, data } = job;
  return artifacts.putBytes(data.videoId, artifact, encodeSafetensors(tensors, metadata), artifacts.contentTypeOf(artifact));
}

/** A file a stage makes on disk (an encoded video, the preview GIF) before it is uploaded. */
export interface FileOutput {
  artifact: ArtifactName;
  /** Writes the file at `path` (the artifact's contract file name in a scratch folder). */
  write(path: string): Promise<void>;
}

/**
 * Writes each file into a scratch folder of this job, one after another, uploads it under its
 * artifact name (streamed from disk), and removes the folder whatever happens. Returns the keys.
 */
export async function putFileOutputs(
  job: Pick<StageJob, 'data' | 'artifacts'>,
  files: readonly FileOutput[],
): Promise<Partial<Record<ArtifactName, string>>> {
  const { artifacts, data } = job;
  const dir = await mkdtemp(join(tmpdir(), `mv-${data.stage}-`));
  try {
    const keys: Partial<Record<ArtifactName, string>> = {};
    for (const file of files) {
      const path = join(dir, ARTIFACT_FILES[file.artifact]);
      await file.write(path);
      keys[file.artifact] = await artifacts.putFile(data.videoId, file.artifact, path, artifacts.contentTypeOf(file.artifact));
    }
    return keys;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
