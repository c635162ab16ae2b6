import type { OrtExecutionProvider, WorkerConfig } from '../config/app-config';
import type { Logger } from '../logging/logger';

/**
 * How a worker opens its model folder (the options of libs/diffusion's openModelFolder, which
 * libs/shared does not import): the execution providers to try in order, ORT_INTRA_OP_THREADS,
 * and the DEBUG_MODEL_CALL_MIN_MS test knob (each model call lasts at least that long on the
 * session thread).
 */
export interface WorkerSessionOptions {
  executionProviders: OrtExecutionProvider[];
  intraOpNumThreads?: number;
  minRunMs?: number;
  logger: Logger;
}

/**
 * The providers tried, in order, for ORT_EXECUTION_PROVIDER. `cuda` keeps `cpu` behind it: a
 * GPU worker whose CUDA libraries or device are missing still serves (slowly), and
 * openModelFolder warns once per model with onnxruntime's reason ("execution provider cuda
 * failed, falling back to cpu"), instead of the worker crash-looping on start.
 */
export function executionProvidersFor(provider: OrtExecutionProvider): OrtExecutionProvider[] {
  return provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}

export function workerSessionOptions(
  config: Pick<WorkerConfig, 'ortExecutionProvider' | 'ortIntraOpThreads' | 'debugModelCallMinMs'>,
  logger: Logger,
): WorkerSessionOptions {
  const executionProviders = executionProvidersFor(config.ortExecutionProvider);
  logger.info(
    { executionProviders },
    executionProviders.length > 1
      ? `models run on ${executionProviders[0]}; a model whose session cannot use it falls back to ${executionProviders.slice(1).join(', ')} with a warning`
      : `models run on ${executionProviders[0]}`,
  );
  return {
    executionProviders,
    ...(config.ortIntraOpThreads === undefined ? {} : { intraOpNumThreads: config.ortIntraOpThreads }),
    ...(config.debugModelCallMinMs === undefined ? {} : { minRunMs: config.debugModelCallMinMs }),
    logger,
  };
}
