import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { contractJsonForTests, tinyManifest } from './model-folder.fixture';
import {
  checkSessionAgainstContract,
  describeViolation,
  ModelContractViolation,
  parseModelFolderContract,
  throwIfViolated,
  validateManifest,
  validateModelFolderFiles,
  type SessionValueMetadata,
  type TensorSpec,
} from './validate-model-folder';

const contract = parseModelFolderContract(contractJsonForTests);
const STATIC_SIZES: Record<string, number> = { C: 4, '2C': 8, D: 128, L: 77, E: 128, S: 64 };

/** Session metadata as onnxruntime reports a model that follows the contract (B symbolic). */
function metadataOf(specs: readonly TensorSpec[]): SessionValueMetadata[] {
  return specs.map((spec) => ({
    name: spec.name,
    isTensor: true,
    type: spec.dtypes[0],
    shape: spec.shape.map((d) => (typeof d === 'string' ? (STATIC_SIZES[d] ?? d) : d)),
  }));
}

function sessionOf(modelName: string) {
  const spec = contract.models[modelName];
  if (spec === undefined) throw new Error(`no contract model ${modelName}`);
  return { inputs: metadataOf(spec.inputs), outputs: metadataOf(spec.outputs) };
}

function check(modelName: string, edit: (session: ReturnType<typeof sessionOf>) => void): string[] {
  const session = sessionOf(modelName);
  edit(session);
  return checkSessionAgainstContract(
    contract,
    modelName,
    session.inputs,
    session.outputs,
    tinyManifest(),
  ).map(describeViolation);
}

function replaceTensor(
  list: SessionValueMetadata[],
  name: string,
  replacement: Partial<SessionValueMetadata>,
) {
  const index = list.findIndex((v) => v.name === name);
  list[index] = { ...list[index], name, ...replacement };
}

describe('checkSessionAgainstContract', () => {
  it.each(Object.keys(contract.models))('accepts a %s that follows the contract', (modelName) => {
    expect(check(modelName, () => undefined)).toEqual([]);
  });

  it('names file, tensor and allowed dtypes for a wrong dtype', () => {
    expect(check('unet', (s) => replaceTensor(s.inputs, 'timestep', { type: 'int8' }))).toEqual([
      'unet/model.onnx: input "timestep": dtype int8 not in [float32, int64]',
    ]);
  });

  it('names an unexpected tensor and the missing one', () => {
    expect(check('unet', (s) => replaceTensor(s.inputs, 'timestep', { name: 't' }))).toEqual([
      'unet/model.onnx: input "t": not in the contract\'s inputs [sample, timestep, encoder_hidden_states, fps]',
      'unet/model.onnx: input "timestep": missing (model has [sample, t, encoder_hidden_states, fps])',
    ]);
  });

  it('reports a wrong rank', () => {
    expect(
      check('vae_decoder', (s) => replaceTensor(s.inputs, 'latents', { shape: ['B', 4, 8, 8] })),
    ).toEqual([
      'vae_decoder/model.onnx: input "latents": rank 4 [B, 4, 8, 8], expected rank 5 [B, C, F, h, w]',
    ]);
  });

  it('rejects a static batch dimension', () => {
    const violations = check('text_encoder', (s) =>
      replaceTensor(s.outputs, 'last_hidden_state', { shape: [1, 77, 128] }),
    );
    expect(violations).toEqual([
      'text_encoder/model.onnx: output "last_hidden_state": axis 0 (batch B) must be dynamic, is static 1',
    ]);
  });

  it('checks static sizes against the manifest', () => {
    const violations = check('image_encoder', (s) =>
      replaceTensor(s.outputs, 'image_embeds', { shape: ['B', 256] }),
    );
    expect(violations).toEqual([
      'image_encoder/model.onnx: output "image_embeds": axis 1 (E) is 256, the manifest says 128',
    ]);
  });

  it('checks fixed axes', () => {
    const violations = check('vae_decoder', (s) =>
      replaceTensor(s.outputs, 'frames', { shape: ['batch', 4, 'F', 'H', 'W'] }),
    );
    expect(violations).toEqual(['vae_decoder/model.onnx: output "frames": axis 1 is 4, expected 3']);
  });

  it('requires one static size per letter within a model', () => {
    const violations = check('unet', (s) => {
      replaceTensor(s.inputs, 'sample', { shape: ['B', 4, 16, 8, 8] });
      replaceTensor(s.outputs, 'out_sample', { shape: ['B', 4, 16, 8, 16] });
    });
    expect(violations).toEqual([
      'unet/model.onnx: output "out_sample": axis 4 (w) is 16, but 8 at input "sample" axis 4',
    ]);
  });

  it('accepts unknown dimensions as onnxruntime reports them', () => {
    expect(check('unet', (s) => replaceTensor(s.inputs, 'sample', { shape: ['', '', '', '', ''] }))).toEqual(
      [],
    );
  });

  it('reports a tensor without a shape', () => {
    expect(check('unet', (s) => replaceTensor(s.inputs, 'fps', { shape: [] }))).toEqual([
      'unet/model.onnx: input "fps": has no shape, expected rank 1',
    ]);
  });

  it('takes onnxruntime session metadata as it is (checked by tsc)', () => {
    expectTypeOf<InferenceSession['inputMetadata']>().toExtend<readonly SessionValueMetadata[]>();
    expectTypeOf<InferenceSession['outputMetadata']>().toExtend<readonly SessionValueMetadata[]>();
  });

  it('checks names only when the metadata has no types or shapes', () => {
    const names = (list: SessionValueMetadata[]) => list.map(({ name }) => ({ name }));
    const { inputs, outputs } = sessionOf('sr_unet');
    expect(checkSessionAgainstContract(contract, 'sr_unet', names(inputs), names(outputs))).toEqual([]);
    expect(
      checkSessionAgainstContract(contract, 'sr_unet', names(inputs), [{ name: 'x' }]).map(describeViolation),
    ).toEqual([
      'sr_unet/model.onnx: output "x": not in the contract\'s outputs [out_sample]',
      'sr_unet/model.onnx: output "out_sample": missing (model has [x])',
    ]);
  });
});

describe('validateManifest', () => {
  it('accepts the tiny manifest', () => {
    expect(validateManifest(tinyManifest(), contract).violations).toEqual([]);
  });

  it('names a missing required key', () => {
    const { latent_channels: _dropped, ...manifest } = tinyManifest();
    const { violations } = validateManifest(manifest, contract);
    expect(violations.map(describeViolation)).toEqual([
      expect.stringMatching(/^model_index\.json: latent_channels: /),
    ]);
  });

  it('names an enum value outside the contract with its path', () => {
    const manifest = tinyManifest();
    manifest.schedulers.unet.beta_schedule = 'cosine' as 'linear';
    const { violations } = validateManifest(manifest, contract);
    expect(violations.map(describeViolation)).toEqual([
      expect.stringMatching(/^model_index\.json: schedulers\/unet\/beta_schedule: /),
    ]);
  });

  it('rejects a model name outside the contract and an fps default outside the range', () => {
    const manifest = tinyManifest();
    manifest.models['motion_module'] = 'motion_module/model.onnx';
    manifest.fps.default = 60;
    expect(validateManifest(manifest, contract).violations.map(describeViolation)).toEqual([
      'model_index.json: fps: default 60 outside [min, max]',
      'model_index.json: models: "motion_module" is not a contract model (text_encoder, image_encoder, unet, interp_unet, vae_encoder, vae_decoder, sr_unet)',
    ]);
  });
});

describe('validateModelFolderFiles', () => {
  let folder: string;

  async function writeFolderFile(relative: string, text: string) {
    await mkdir(dirname(join(folder, relative)), { recursive: true });
    await writeFile(join(folder, relative), text);
  }

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'model-folder-'));
    const manifest = tinyManifest();
    await writeFolderFile('model_index.json', JSON.stringify(manifest));
    await writeFolderFile('tokenizer/tokenizer.json', '{}');
    for (const file of Object.values(manifest.models)) await writeFolderFile(file, 'onnx bytes');
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('returns the manifest of a complete folder', async () => {
    const { manifest, violations } = await validateModelFolderFiles(folder, contract);
    expect(violations).toEqual([]);
    expect(manifest?.latent_channels).toBe(4);
  });

  it('names every missing file', async () => {
    await unlink(join(folder, 'unet/model.onnx'));
    await unlink(join(folder, 'tokenizer/tokenizer.json'));
    const { violations } = await validateModelFolderFiles(folder, contract);
    expect(violations.map(describeViolation)).toEqual([
      'tokenizer/tokenizer.json: missing',
      'unet/model.onnx: missing (listed as unet)',
    ]);
    expect(() => throwIfViolated(folder, violations)).toThrow(ModelContractViolation);
  });

  it('names a manifest that is not JSON', async () => {
    await writeFolderFile('model_index.json', '{ not json');
    const { violations } = await validateModelFolderFiles(folder, contract);
    expect(violations.map(describeViolation)).toEqual([
      expect.stringMatching(/^model_index\.json: not valid JSON/),
    ]);
  });

  it('names a folder without a manifest', async () => {
    await unlink(join(folder, 'model_index.json'));
    const { violations } = await validateModelFolderFiles(folder, contract);
    expect(violations.map(describeViolation)).toEqual(['model_index.json: missing']);
  });
});

describe('ModelContractViolation', () => {
  it('carries its code and lists every violation in its message', () => {
    const error = new ModelContractViolation('/models/tiny', [
      {
        file: 'unet/model.onnx',
        tensor: 'timestep',
        role: 'input',
        message: 'dtype int8 not in [float32, int64]',
      },
      { file: 'tokenizer/tokenizer.json', message: 'missing' },
    ]);
    expect(error.code).toBe('ModelContractViolation');
    expect(error.message).toContain('unet/model.onnx: input "timestep": dtype int8 not in [float32, int64]');
    expect(error.message).toContain('tokenizer/tokenizer.json: missing');
  });
});
