import { LONG_WORK_BUCKETS_SECONDS, MODEL_CALL_BUCKETS_SECONDS } from './buckets';
import { histogramFamily } from './metric-family';

/** ONNX model calls and session loads of a worker, by the model folder's model name (unet, vae_decoder, …). */

export const modelRunSeconds = histogramFamily({
  name: 'magicvideo_model_run_seconds',
  help: 'One ONNX session run as the stage waits for it (feeds converted, run on the session thread, outputs back), by stage and model.',
  labelNames: ['stage', 'model'],
  buckets: MODEL_CALL_BUCKETS_SECONDS,
});

export const modelLoadSeconds = histogramFamily({
  name: 'magicvideo_model_load_seconds',
  help: "Creating a model's ONNX session (once per process), by stage and model.",
  labelNames: ['stage', 'model'],
  buckets: LONG_WORK_BUCKETS_SECONDS,
});

/** The parts of a model folder that are timed; structural, so libs/shared needs no libs/diffusion import. */
export interface RunnableModel<F, O> {
  run(feeds: F): Promise<O>;
}
export interface ModelSource<N extends string, R extends RunnableModel<never, unknown>> {
  runner(name: N): Promise<R>;
}

/**
 * The same model folder, with every session load and run observed in the histograms above. The
 * stage functions take it in place of the folder; libs/diffusion stays free of metrics.
 */
export function withModelMetrics<N extends string, R extends RunnableModel<never, unknown>, T extends ModelSource<N, R>>(folder: T, stage: string): T {
  const runners = new Map<N, Promise<R>>();
  const timedRunner = async (name: N): Promise<R> => {
    const startedAt = performance.now();
    const inner = await folder.runner(name);
    modelLoadSeconds.labels({ stage, model: name }).observe((performance.now() - startedAt) / 1000);
    modelRunSeconds.zero({ stage, model: name });
    const run = async (feeds: never): Promise<unknown> => {
      const runStartedAt = performance.now();
      try {
        return await inner.run(feeds);
      } finally {
        modelRunSeconds.labels({ stage, model: name }).observe((performance.now() - runStartedAt) / 1000);
      }
    };
    // The runner's other fields (its name) read through; only run is replaced.
    return new Proxy(inner, { get: (target, property) => (property === 'run' ? run : Reflect.get(target, property, target)) });
  };
  const runner = (name: N): Promise<R> => {
    let found = runners.get(name);
    if (found === undefined) {
      found = timedRunner(name);
      found.catch(() => runners.delete(name));
      runners.set(name, found);
    }
    return found;
  };
  return new Proxy(folder, {
    get: (target, property) => {
      if (property === 'runner') return runner;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
