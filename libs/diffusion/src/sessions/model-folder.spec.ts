import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelContractViolation } from '../model-folder/validate-model-folder';
import { ModelUnavailable, openModelFolder, type ModelFolder, type SessionLogger } from './model-folder';
import { SHIPPED_MODEL_FOLDER } from './shipped-model-folder.fixture';

const cpu = { executionProviders: ['cpu' as const], intraOpNumThreads: 1 };

describe('openModelFolder on the shipped folder', () => {
  let folder: ModelFolder;
  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, cpu);
  });
  afterAll(async () => folder.close());

  it('reads the manifest and the tokenizer and runs the text encoder', async () => {
    expect(folder.manifest.frames).toBe(16);
    expect(folder.has('unet')).toBe(true);
    const tokens = folder.tokenizer.encode('a red circle moving right');
    expect(tokens.inputIds).toHaveLength(folder.manifest.text.max_length);
    const textEncoder = await folder.runner('text_encoder');
    const { last_hidden_state: hidden } = await textEncoder.run({
      input_ids: { data: tokens.inputIds, dims: [1, tokens.inputIds.length] },
    });
    expect(hidden?.dims).toEqual([1, folder.manifest.text.max_length, folder.manifest.text.hidden_size]);
    expect(hidden?.data.every(Number.isFinite)).toBe(true);
  });

  it('creates one session per model and reuses it', async () => {
    const [first, second] = await Promise.all([folder.runner('vae_decoder'), folder.runner('vae_decoder')]);
    expect(first).toBe(second);
    expect(await folder.runner('vae_decoder')).toBe(first);
  });
});

describe('openModelFolder on broken folders', () => {
  let dir: string;
  const opened: ModelFolder[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'model-folder-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((folder) => folder.close()));
    await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'model-folder-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** The shipped folder's subfolders linked in, `links` mapping a subfolder name to the shipped one it points at. */
  async function linkFolder(manifest: unknown, links: Record<string, string>): Promise<void> {
    await writeFile(
      join(dir, 'model_index.json'),
      typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
    );
    for (const [name, target] of Object.entries(links))
      await symlink(join(SHIPPED_MODEL_FOLDER, target), join(dir, name));
  }
  const shippedManifest = async (): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(SHIPPED_MODEL_FOLDER, 'model_index.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  const sameNames = (names: string[]) => Object.fromEntries(names.map((name) => [name, name]));

  async function violationOf(promise: Promise<unknown>): Promise<ModelContractViolation> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ModelContractViolation);
    return error as ModelContractViolation;
  }

  it('names a listed model file that is missing', async () => {
    await linkFolder(
      await shippedManifest(),
      sameNames([
        'tokenizer',
        'text_encoder',
        'vae_decoder',
        'image_encoder',
        'interp_unet',
        'vae_encoder',
        'sr_unet',
      ]),
    );
    const error = await violationOf(openModelFolder(dir, cpu));
    expect(error.violations).toEqual([{ file: 'unet/model.onnx', message: 'missing (listed as unet)' }]);
  });

  it('names model_index.json when it is not JSON or breaks the schema', async () => {
    await linkFolder('{"family": "magicvideo",', sameNames(['tokenizer']));
    expect((await violationOf(openModelFolder(dir, cpu))).message).toMatch(
      /model_index\.json: not valid JSON/,
    );
    await writeFile(join(dir, 'model_index.json'), JSON.stringify({ ...(await shippedManifest()), frames: 1 }));
    const error = await violationOf(openModelFolder(dir, cpu));
    expect(error.violations.map((v) => v.file)).toEqual(['model_index.json']);
    expect(error.message).toMatch(/frames/);
  });

  it("names the file and tensor when a model's session breaks the contract", async () => {
    // image_encoder/ holds the VAE encoder: its inputs are not the image encoder's
    await linkFolder(await shippedManifest(), {
      ...sameNames([
        'tokenizer',
        'text_encoder',
        'unet',
        'vae_decoder',
        'interp_unet',
        'vae_encoder',
        'sr_unet',
      ]),
      image_encoder: 'vae_encoder',
    });
    const folder = await openModelFolder(dir, cpu);
    opened.push(folder);
    const error = await violationOf(folder.runner('image_encoder'));
    expect(error.message).toContain('image_encoder/model.onnx: input "pixel_values": missing');
    expect(error.message).toContain(
      'image_encoder/model.onnx: input "frames": not in the contract\'s inputs',
    );
  });

  it('refuses a model the manifest does not list, and every model after close', async () => {
    const manifest = await shippedManifest();
    const models = manifest['models'] as Record<string, string>;
    delete models['sr_unet'];
    await linkFolder(
      manifest,
      sameNames([
        'tokenizer',
        'text_encoder',
        'unet',
        'vae_decoder',
        'image_encoder',
        'interp_unet',
        'vae_encoder',
      ]),
    );
    const folder = await openModelFolder(dir, cpu);
    expect(folder.has('sr_unet')).toBe(false);
    await expect(folder.runner('sr_unet')).rejects.toBeInstanceOf(ModelUnavailable);
    await folder.close();
    await expect(folder.runner('text_encoder')).rejects.toBeInstanceOf(ModelUnavailable);
  });

  it('falls back from cuda to cpu with a warning when cuda cannot create a session', async () => {
    await linkFolder(
      await shippedManifest(),
      sameNames([
        'tokenizer',
        'text_encoder',
        'unet',
        'vae_decoder',
        'image_encoder',
        'interp_unet',
        'vae_encoder',
        'sr_unet',
      ]),
    );
    const warnings: object[] = [];
    const logger: SessionLogger = { warn: (obj) => warnings.push(obj), info: () => undefined };
    const folder = await openModelFolder(dir, { ...cpu, executionProviders: ['cuda', 'cpu'], logger });
    opened.push(folder);
    expect(warnings).toEqual([
      expect.objectContaining({ model: 'text_encoder', provider: 'cuda', fallback: 'cpu' }),
    ]);
    await folder.runner('vae_decoder');
    expect(warnings).toHaveLength(1);
  });
});
