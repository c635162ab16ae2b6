import { join } from 'node:path';
import { modelFolderContractJson } from '@magicvideo/shared';
import type { ModelFolderManifest } from '../model-folder/manifest';
import {
  checkSessionAgainstContract,
  parseModelFolderContract,
  throwIfViolated,
  validateModelFolderFiles,
  type ModelFolderContract,
} from '../model-folder/validate-model-folder';
import { loadClipTokenizer, type ClipTokenizer, type TokenIdDtype } from '../tokenizer/clip-tokenizer';
import { OnnxModelRunner, type ModelName, type ModelRunner } from './model-runner';
import { SessionThread, type SessionHandle } from './session-thread';

export type ExecutionProvider = 'cuda' | 'cpu';

export interface SessionLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface SessionOptions {
  /** Tried in order per model; a provider that fails to create a session is warned about and skipped from then on. */
  executionProviders: ExecutionProvider[];
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  logger?: SessionLogger;
  /** The parsed contract; the one @magicvideo/shared ships when left out. */
  contract?: ModelFolderContract;
  /**
   * Test knob, never for production: every model run takes at least this long, the session
   * thread sleeping the rest (SessionThreadOptions.minRunMs). Workers pass DEBUG_MODEL_CALL_MIN_MS,
   * so a test can make one model call outlast the BullMQ lock.
   */
  minRunMs?: number;
}

/** A loaded model folder (DESIGN.md §5): manifest, tokenizer, one onnxruntime session per model. */
export interface ModelFolder {
  readonly dir: string;
  readonly manifest: ModelFolderManifest;
  /** Ids in the dtype the text encoder's `input_ids` declares. */
  readonly tokenizer: ClipTokenizer<TokenIdDtype>;
  /** Whether the manifest lists the model (optional models make optional stages). */
  has(name: ModelName): boolean;
  /** Created on first use, checked against the contract, then reused by every later job. */
  runner(name: ModelName): Promise<ModelRunner>;
  /** Releases every session; the folder cannot run models afterwards. */
  close(): Promise<void>;
}

/** The folder has no such model (an optional stage asked of a folder without it), or was closed. */
export class ModelUnavailable extends Error {
  readonly code = 'ModelUnavailable';
  constructor(
    readonly model: ModelName,
    detail: string,
  ) {
    super(`model ${model} unavailable: ${detail}`);
    this.name = 'ModelUnavailable';
  }
}

const TEXT_IDS_INPUT = 'input_ids';

/**
 * Opens a model folder: `model_index.json`, the tokenizer and every listed file are checked at
 * once (ModelContractViolation naming the file); the text encoder's session is created now,
 * since its `input_ids` dtype decides the tokenizer's; the other models' sessions on first use.
 */
export async function openModelFolder(dir: string, options: SessionOptions): Promise<ModelFolder> {
  const contract = options.contract ?? parseModelFolderContract(modelFolderContractJson);
  const { manifest, violations } = await validateModelFolderFiles(dir, contract);
  throwIfViolated(dir, violations);
  if (manifest === undefined) throw new Error(`${dir}: validation returned no manifest and no violation`);
  const folder = new OnnxModelFolder(dir, manifest, contract, options);
  try {
    const textEncoder = await folder.runner('text_encoder');
    const idDtype: TokenIdDtype = textEncoder.inputDtype(TEXT_IDS_INPUT) === 'int32' ? 'int32' : 'int64';
    folder.tokenizer = await loadClipTokenizer(join(dir, contract.tokenizer.file), { idDtype });
  } catch (error) {
    await folder.close();
    throw error;
  }
  return folder;
}

class OnnxModelFolder implements ModelFolder {
  tokenizer!: ClipTokenizer<TokenIdDtype>;
  private readonly runners = new Map<ModelName, Promise<OnnxModelRunner>>();
  private readonly sessions: SessionHandle[] = [];
  /** Created with the first session: opening a folder that fails validation starts no thread. */
  private thread: SessionThread | undefined;
  private readonly failedProviders = new Set<ExecutionProvider>();
  private closed = false;

  constructor(
    readonly dir: string,
    readonly manifest: ModelFolderManifest,
    private readonly contract: ModelFolderContract,
    private readonly options: SessionOptions,
  ) {}

  has(name: ModelName): boolean {
    return this.manifest.models[name] !== undefined;
  }

  runner(name: ModelName): Promise<OnnxModelRunner> {
    if (this.closed) return Promise.reject(new ModelUnavailable(name, `${this.dir} was closed`));
    if (!this.has(name))
      return Promise.reject(new ModelUnavailable(name, `${this.dir}/model_index.json does not list it`));
    let runner = this.runners.get(name);
    if (runner === undefined) {
      runner = this.createRunner(name);
      // a failed creation is not cached: the error reaches this caller, a later call tries again
      runner.catch(() => this.runners.delete(name));
      this.runners.set(name, runner);
    }
    return runner;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.runners.values()];
    this.runners.clear();
    await Promise.allSettled(pending);
    const sessions = this.sessions.splice(0);
    // the thread stops even when a release fails (a thread that died has nothing left to release)
    const released = await Promise.allSettled(sessions.map((session) => session.release()));
    await this.thread?.close();
    this.thread = undefined;
    const failure = released.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  private async createRunner(name: ModelName): Promise<OnnxModelRunner> {
    const file = this.manifest.models[name] as string;
    const started = performance.now();
    const { session, provider } = await this.createSession(join(this.dir, file), name);
    const violations = checkSessionAgainstContract(
      this.contract,
      name,
      session.inputMetadata,
      session.outputMetadata,
      this.manifest,
    );
    if (violations.length > 0 || this.closed) {
      await session.release();
      throwIfViolated(this.dir, violations);
      throw new ModelUnavailable(name, `${this.dir} was closed while its session loaded`);
    }
    this.sessions.push(session);
    this.options.logger?.info(
      { model: name, file, provider, loadMs: Math.round(performance.now() - started) },
      'model session created',
    );
    return new OnnxModelRunner(name, file, session);
  }

  private async createSession(
    path: string,
    name: ModelName,
  ): Promise<{ session: SessionHandle; provider: ExecutionProvider }> {
    const providers = this.options.executionProviders.filter(
      (provider) => !this.failedProviders.has(provider),
    );
    if (providers.length === 0) {
      throw new ModelUnavailable(
        name,
        `no execution provider left (configured: ${this.options.executionProviders.join(', ')})`,
      );
    }
    for (const [position, provider] of providers.entries()) {
      try {
        this.thread ??= new SessionThread(
          this.options.minRunMs === undefined ? {} : { minRunMs: this.options.minRunMs },
        );
        const session = await this.thread.createSession(path, {
          executionProviders: [provider],
          ...(this.options.intraOpNumThreads !== undefined && {
            intraOpNumThreads: this.options.intraOpNumThreads,
          }),
          ...(this.options.graphOptimizationLevel !== undefined && {
            graphOptimizationLevel: this.options.graphOptimizationLevel,
          }),
        });
        return { session, provider };
      } catch (error) {
        const fallback = providers[position + 1];
        if (fallback === undefined || provider === 'cpu') throw error;
        this.failedProviders.add(provider);
        const reason = error instanceof Error ? error.message : String(error);
        this.options.logger?.warn(
          { model: name, provider, fallback, reason },
          `execution provider ${provider} failed, falling back to ${fallback}`,
        );
      }
    }
    throw new ModelUnavailable(name, 'no execution provider could create a session');
  }
}
