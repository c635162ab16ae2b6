import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { manifestSchema, type ModelFolderManifest } from './manifest';

/**
 * The model-folder contract (DESIGN.md §5, docs/models.md), checked on the serving side at load
 * time. The rules come from the contract JSON both halves read
 * (libs/shared/src/model-folder/model-folder.contract.json, exported by @magicvideo/shared as
 * `modelFolderContractJson`); libs/models/src/magicvideo_models/contract.py checks the same
 * rules right after export, with the same messages.
 */

export const MANIFEST_FILE = 'model_index.json';
const BATCH_DIM = 'B';

const tensorSpecSchema = z.looseObject({
  name: z.string().min(1),
  dtypes: z.array(z.string()).min(1),
  /** fixed sizes as numbers, symbolic ones as letters (B, C, 2C, F, h, w, H, W, L, D, E, S) */
  shape: z.array(z.union([z.int().min(0), z.string().min(1)])),
});
const modelSpecSchema = z.looseObject({
  file: z.string().min(1),
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
});
export const modelFolderContractSchema = z.looseObject({
  contractVersion: z.literal(1),
  manifestSchema: z.record(z.string(), z.unknown()),
  tokenizer: z.object({ file: z.string().min(1), required: z.boolean() }),
  models: z.record(z.string(), modelSpecSchema),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type ModelFolderContract = z.infer<typeof modelFolderContractSchema>;

/** Checks the contract file's own shape; call once at start and pass the result in. */
export function parseModelFolderContract(json: unknown): ModelFolderContract {
  return modelFolderContractSchema.parse(json);
}

/** One way a model folder breaks the contract, naming the file and (when there is one) the tensor. */
export interface ContractViolation {
  file: string;
  tensor?: string;
  role?: 'input' | 'output';
  message: string;
}

/** `unet/model.onnx: input "timestep": dtype int8 not in [float32, int64]` */
export function describeViolation(violation: ContractViolation): string {
  if (violation.tensor === undefined) return `${violation.file}: ${violation.message}`;
  return `${violation.file}: ${violation.role ?? 'input'} "${violation.tensor}": ${violation.message}`;
}

/** Thrown when a model folder breaks the contract; lists every violation at once. */
export class ModelContractViolation extends Error {
  readonly code = 'ModelContractViolation';
  constructor(
    readonly folder: string,
    readonly violations: readonly ContractViolation[],
  ) {
    super(
      `${folder} violates the model-folder contract:\n${violations.map((v) => `  ${describeViolation(v)}`).join('\n')}`,
    );
    this.name = 'ModelContractViolation';
  }
}

export function throwIfViolated(folder: string, violations: readonly ContractViolation[]): void {
  if (violations.length > 0) throw new ModelContractViolation(folder, violations);
}

export type ManifestCheck =
  | { manifest: ModelFolderManifest; violations: [] }
  | { manifest: undefined; violations: ContractViolation[] };

/** `model_index.json` against the manifest schema, plus the rules a JSON Schema cannot say. */
export function validateManifest(json: unknown, contract: ModelFolderContract): ManifestCheck {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const violations = parsed.error.issues.map((issue) => ({
      file: MANIFEST_FILE,
      message: `${issue.path.length > 0 ? issue.path.join('/') : '(root)'}: ${issue.message}`,
    }));
    return { manifest: undefined, violations };
  }
  const manifest = parsed.data;
  const violations: ContractViolation[] = [];
  const fps = manifest.fps;
  if (!(fps.min <= fps.default && fps.default <= fps.max)) {
    violations.push({ file: MANIFEST_FILE, message: `fps: default ${fps.default} outside [min, max]` });
  }
  const known = Object.keys(contract.models);
  for (const name of Object.keys(manifest.models)) {
    if (!known.includes(name)) {
      violations.push({
        file: MANIFEST_FILE,
        message: `models: "${name}" is not a contract model (${known.join(', ')})`,
      });
    }
  }
  return violations.length > 0 ? { manifest: undefined, violations } : { manifest, violations: [] };
}

/** The contract's shape letters whose size the manifest fixes (docs/models.md, "Shapes"). */
export function manifestDimensions(manifest: ModelFolderManifest): Record<string, number> {
  return {
    C: manifest.latent_channels,
    '2C': 2 * manifest.latent_channels,
    D: manifest.text.hidden_size,
    L: manifest.text.max_length,
    E: manifest.image_encoder.embed_dim,
    S: manifest.image_encoder.image_size,
  };
}

/**
 * One input or output as an ONNX session describes it: onnxruntime-common's
 * `InferenceSession.ValueMetadata` fits (`type` and `shape` only on tensors; a dimension is a
 * number when static, a name when symbolic, '' when unknown). Without `type`/`shape`, only the
 * name is checked.
 */
export interface SessionValueMetadata {
  readonly name: string;
  readonly isTensor?: boolean;
  readonly type?: string;
  readonly shape?: ReadonlyArray<number | string>;
}

/**
 * A loaded model's inputs and outputs against the contract: exactly the contract's names, an
 * allowed dtype, the rank, fixed sizes, a dynamic batch, static sizes equal to the manifest's
 * (when given) and one size per letter within the model.
 */
export function checkSessionAgainstContract(
  contract: ModelFolderContract,
  modelName: string,
  inputs: readonly SessionValueMetadata[],
  outputs: readonly SessionValueMetadata[],
  manifest?: ModelFolderManifest,
): ContractViolation[] {
  const spec = contract.models[modelName];
  const file = manifest?.models[modelName] ?? spec?.file ?? modelName;
  if (spec === undefined) {
    return [
      {
        file,
        message: `"${modelName}" is not a contract model (${Object.keys(contract.models).join(', ')})`,
      },
    ];
  }
  const known = manifest ? manifestDimensions(manifest) : {};
  const seen = new Map<string, { size: number; where: string }>();
  const violations: ContractViolation[] = [];
  const roles = [
    ['input', spec.inputs, inputs],
    ['output', spec.outputs, outputs],
  ] as const;
  for (const [role, specs, values] of roles) {
    const expectedNames = specs.map((s) => s.name);
    const actualNames = values.map((v) => v.name);
    for (const name of actualNames) {
      if (!expectedNames.includes(name)) {
        violations.push({
          file,
          tensor: name,
          role,
          message: `not in the contract's ${role}s ${listed(expectedNames)}`,
        });
      }
    }
    for (const tensorSpec of specs) {
      const value = values.find((v) => v.name === tensorSpec.name);
      if (value === undefined) {
        violations.push({
          file,
          tensor: tensorSpec.name,
          role,
          message: `missing (model has ${listed(actualNames)})`,
        });
        continue;
      }
      const violation = (message: string): ContractViolation => ({ file, tensor: value.name, role, message });
      violations.push(...checkTensor(value, tensorSpec, known, seen, role, violation));
    }
  }
  return violations;
}

function checkTensor(
  value: SessionValueMetadata,
  spec: TensorSpec,
  known: Record<string, number>,
  seen: Map<string, { size: number; where: string }>,
  role: 'input' | 'output',
  violation: (message: string) => ContractViolation,
): ContractViolation[] {
  if (value.isTensor === false) return [violation('is not a tensor')];
  const violations: ContractViolation[] = [];
  if (value.type !== undefined && !spec.dtypes.includes(value.type)) {
    violations.push(violation(`dtype ${value.type} not in ${listed(spec.dtypes)}`));
  }
  if (value.shape === undefined) return violations;
  // onnxruntime reports an undefined shape as []; no contract tensor is a scalar
  if (value.shape.length === 0) {
    return [...violations, violation(`has no shape, expected rank ${spec.shape.length}`)];
  }
  if (value.shape.length !== spec.shape.length) {
    const shown = value.shape.map((d) => (d === '' ? '?' : d));
    const expected = `expected rank ${spec.shape.length} ${listed(spec.shape)}`;
    return [...violations, violation(`rank ${value.shape.length} ${listed(shown)}, ${expected}`)];
  }
  value.shape.forEach((size, axis) => {
    if (typeof size !== 'number' || size < 0) return; // symbolic or unknown: any size at run time
    const expected = spec.shape[axis];
    const where = `${role} "${value.name}" axis ${axis}`;
    if (typeof expected === 'number') {
      if (size !== expected) violations.push(violation(`axis ${axis} is ${size}, expected ${expected}`));
    } else if (expected === BATCH_DIM) {
      violations.push(violation(`axis ${axis} (batch B) must be dynamic, is static ${size}`));
    } else if (expected !== undefined && known[expected] !== undefined && size !== known[expected]) {
      violations.push(
        violation(`axis ${axis} (${expected}) is ${size}, the manifest says ${known[expected]}`),
      );
    } else if (expected !== undefined && known[expected] === undefined) {
      const first = seen.get(expected);
      if (first === undefined) seen.set(expected, { size, where });
      else if (first.size !== size) {
        violations.push(
          violation(`axis ${axis} (${expected}) is ${size}, but ${first.size} at ${first.where}`),
        );
      }
    }
  });
  return violations;
}

export interface ModelFolderFilesCheck {
  manifest: ModelFolderManifest | undefined;
  violations: ContractViolation[];
}

/**
 * The file-level rules of a folder: a valid `model_index.json`, the tokenizer, every listed
 * model file present. The tensor rules need loaded sessions: `checkSessionAgainstContract`.
 */
export async function validateModelFolderFiles(
  folder: string,
  contract: ModelFolderContract,
): Promise<ModelFolderFilesCheck> {
  const manifestText = await readOptionalText(join(folder, MANIFEST_FILE));
  if (manifestText === undefined) {
    return { manifest: undefined, violations: [{ file: MANIFEST_FILE, message: 'missing' }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      manifest: undefined,
      violations: [{ file: MANIFEST_FILE, message: `not valid JSON: ${reason}` }],
    };
  }
  const { manifest, violations } = validateManifest(json, contract);
  if (manifest === undefined) return { manifest, violations };

  const missing: ContractViolation[] = [];
  if (contract.tokenizer.required && !(await isFile(join(folder, contract.tokenizer.file)))) {
    missing.push({ file: contract.tokenizer.file, message: 'missing' });
  }
  for (const [modelName, file] of Object.entries(manifest.models)) {
    if (!(await isFile(join(folder, file))))
      missing.push({ file, message: `missing (listed as ${modelName})` });
  }
  return { manifest, violations: missing };
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

/** `[a, b, 3]`: the list format of the messages of both halves. */
function listed(items: readonly unknown[]): string {
  return `[${items.map(String).join(', ')}]`;
}
