import type { FloatTensor, IntTensor, ModelFolder, ModelName, ModelRunner } from '@magicvideo/diffusion';

/**
 * A ModelFolder that records every model call (which model, batch size, start and end), so the
 * benchmark can say where a stage's time goes: model calls × ms per call, and the rest (the
 * sampler's arithmetic, tensor conversions, artifacts). A call's time is what a stage waits for:
 * feeds converted to the model's dtypes, posted to the session thread, run, and back.
 */

export interface ModelCall {
  model: ModelName;
  /** `sample`'s leading dimension (classifier-free guidance runs batch 2) */
  batch: number;
  startMs: number;
  endMs: number;
}

export interface SessionLoad {
  model: ModelName;
  startMs: number;
  endMs: number;
}

export class TimedModelFolder implements ModelFolder {
  private calls: ModelCall[] = [];
  private loads: SessionLoad[] = [];
  private readonly runners = new Map<ModelName, Promise<ModelRunner>>();

  constructor(private readonly inner: ModelFolder) {}

  get dir(): string {
    return this.inner.dir;
  }

  get manifest(): ModelFolder['manifest'] {
    return this.inner.manifest;
  }

  get tokenizer(): ModelFolder['tokenizer'] {
    return this.inner.tokenizer;
  }

  has(name: ModelName): boolean {
    return this.inner.has(name);
  }

  runner(name: ModelName): Promise<ModelRunner> {
    let runner = this.runners.get(name);
    if (runner === undefined) {
      runner = this.timedRunner(name);
      runner.catch(() => this.runners.delete(name));
      this.runners.set(name, runner);
    }
    return runner;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The calls and session loads since the last take, oldest first; the record starts afresh. */
  take(): { calls: ModelCall[]; loads: SessionLoad[] } {
    const taken = { calls: this.calls, loads: this.loads };
    this.calls = [];
    this.loads = [];
    return taken;
  }

  private async timedRunner(name: ModelName): Promise<ModelRunner> {
    const startMs = performance.now();
    const inner = await this.inner.runner(name);
    // the text encoder's session is made when the folder opens; this then only finds it
    this.loads.push({ model: name, startMs, endMs: performance.now() });
    return {
      name,
      run: async (feeds: Record<string, FloatTensor | IntTensor>) => {
        const startMs = performance.now();
        const outputs = await inner.run(feeds);
        this.calls.push({ model: name, batch: leadingDimension(feeds), startMs, endMs: performance.now() });
        return outputs;
      },
    };
  }
}

/** The batch of a call: `sample`'s leading dimension, else the first feed's (the text encoder's ids). */
function leadingDimension(feeds: Record<string, FloatTensor | IntTensor>): number {
  const batched = feeds['sample'] ?? Object.values(feeds)[0];
  return batched?.dims[0] ?? 0;
}
