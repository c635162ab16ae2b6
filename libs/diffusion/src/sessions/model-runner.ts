import type { SessionHandle, TypedFeed } from './session-thread';
import {
  isModelDtype,
  outputToFloat32,
  toModelDtype,
  type FloatTensor,
  type IntTensor,
  type ModelDtype,
} from './tensor-dtypes';

/** The contract's model names (docs/models.md); each is one ONNX file of a model folder. */
export type ModelName =
  'text_encoder' | 'image_encoder' | 'unet' | 'interp_unet' | 'vae_encoder' | 'vae_decoder' | 'sr_unet';

export const MODEL_NAMES: readonly ModelName[] = [
  'text_encoder',
  'image_encoder',
  'unet',
  'interp_unet',
  'vae_encoder',
  'vae_decoder',
  'sr_unet',
];

export interface ModelRunner {
  readonly name: ModelName;
  /**
   * Feeds keyed by the contract's input names, converted to the dtypes the model declares;
   * outputs come back as float32. Runs on the folder's session thread, so the event loop stays free
   * for lock renewal and progress (DESIGN.md §3, "Locks").
   */
  run(feeds: Record<string, FloatTensor | IntTensor>): Promise<Record<string, FloatTensor>>;
}

/** Feeds that do not match the model's inputs: a caller's bug, not a model's. */
export class ModelFeedMismatch extends Error {
  readonly code = 'ModelFeedMismatch';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFeedMismatch';
  }
}

/** What the runner needs of a loaded session. */
export type RunnableSession = Pick<SessionHandle, 'inputMetadata' | 'outputMetadata' | 'run'>;

/**
 * One loaded model. Input dtypes are read once from the session's metadata, which
 * `openModelFolder` has already checked against the contract.
 */
export class OnnxModelRunner implements ModelRunner {
  private readonly inputDtypes: ReadonlyMap<string, ModelDtype>;

  constructor(
    readonly name: ModelName,
    /** The model's file inside its folder, for messages. */
    readonly file: string,
    private readonly session: RunnableSession,
  ) {
    const dtypes = new Map<string, ModelDtype>();
    for (const input of session.inputMetadata) {
      if (input.type === undefined || !isModelDtype(input.type)) {
        throw new ModelFeedMismatch(
          file,
          `input "${input.name}" has dtype ${input.type ?? '(not a tensor)'}, not one this runtime converts to`,
        );
      }
      dtypes.set(input.name, input.type);
    }
    this.inputDtypes = dtypes;
  }

  /** The dtype the model declares for an input. */
  inputDtype(inputName: string): ModelDtype | undefined {
    return this.inputDtypes.get(inputName);
  }

  async run(feeds: Record<string, FloatTensor | IntTensor>): Promise<Record<string, FloatTensor>> {
    const unknown = Object.keys(feeds).filter((name) => !this.inputDtypes.has(name));
    if (unknown.length > 0) {
      throw new ModelFeedMismatch(
        this.file,
        `no input named ${unknown.join(', ')} (inputs: ${[...this.inputDtypes.keys()].join(', ')})`,
      );
    }
    const typedFeeds: Record<string, TypedFeed> = {};
    for (const [name, dtype] of this.inputDtypes) {
      const feed = feeds[name];
      if (feed === undefined) throw new ModelFeedMismatch(this.file, `input "${name}" not fed`);
      const count = feed.dims.reduce((product, size) => product * size, 1);
      if (count !== feed.data.length) {
        throw new ModelFeedMismatch(
          this.file,
          `input "${name}": dims [${feed.dims.join(', ')}] need ${count} values, got ${feed.data.length}`,
        );
      }
      typedFeeds[name] = { type: dtype, data: toModelDtype(feed.data, dtype), dims: feed.dims };
    }
    const results = await this.session.run(typedFeeds);
    const outputs: Record<string, FloatTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      outputs[name] = { data: outputToFloat32(tensor.data, tensor.type), dims: [...tensor.dims] };
    }
    return outputs;
  }
}
