import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelFolderContractJson } from '@magicvideo/shared';
import { InferenceSession } from 'onnxruntime-node';
import type { ModelFolderManifest } from '../model-folder/manifest';
import {
  checkSessionAgainstContract,
  parseModelFolderContract,
  validateModelFolderFiles,
  type ContractViolation,
  type ModelFolderContract,
} from '../model-folder/validate-model-folder';

/**
 * A model folder checked whole and described (the CLI's `models validate` and `models info`):
 * the file rules, then every listed model loaded once to check its tensors against the contract
 * and report them as the session sees them. Every violation of every model, not just the first.
 */

export interface TensorDescription {
  name: string;
  /** onnxruntime's dtype name (`float32`, `int64`, …) */
  dtype: string;
  /** sizes as numbers, symbolic dimensions by name, '?' where unknown */
  shape: (number | string)[];
}

export interface ModelDescription {
  name: string;
  file: string;
  bytes: number;
  inputs: TensorDescription[];
  outputs: TensorDescription[];
}

export interface ModelFolderInspection {
  dir: string;
  manifest: ModelFolderManifest | undefined;
  models: ModelDescription[];
  violations: ContractViolation[];
}

function describeValues(values: readonly InferenceSession.ValueMetadata[]): TensorDescription[] {
  return values.map((value) =>
    value.isTensor
      ? { name: value.name, dtype: value.type, shape: value.shape.map((size) => (size === '' ? '?' : size)) }
      : { name: value.name, dtype: '(not a tensor)', shape: [] },
  );
}

export async function inspectModelFolder(
  dir: string,
  contract: ModelFolderContract = parseModelFolderContract(modelFolderContractJson),
): Promise<ModelFolderInspection> {
  const { manifest, violations } = await validateModelFolderFiles(dir, contract);
  if (manifest === undefined || violations.length > 0) return { dir, manifest, models: [], violations };
  const models: ModelDescription[] = [];
  for (const [name, file] of Object.entries(manifest.models)) {
    const path = join(dir, file);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    } catch (error) {
      violations.push({ file, message: `onnxruntime cannot load it: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    try {
      violations.push(...checkSessionAgainstContract(contract, name, session.inputMetadata, session.outputMetadata, manifest));
      models.push({
        name,
        file,
        bytes: (await stat(path)).size,
        inputs: describeValues(session.inputMetadata),
        outputs: describeValues(session.outputMetadata),
      });
    } finally {
      await session.release();
    }
  }
  return { dir, manifest, models, violations };
}
