import type { WorkerConfig } from '../config/app-config';
import type { Logger } from '../logging/logger';

/**
 * How a worker opens its model folder (the options of libs/diffusion's openModelFolder, which
 * libs/shared does not import): CPU sessions, ORT_INTRA_OP_THREADS, and the
 * DEBUG_MODEL_CALL_MIN_MS test knob (each model call lasts at least that long on the session thread).
 */
export interface WorkerSessionOptions {
  executionProviders: 'cpu'[];
  intraOpNumThreads?: number;
  minRunMs?: number;
  logger: Logger;
}

export function workerSessionOptions(config: Pick<WorkerConfig, 'ortIntraOpThreads' | 'debugModelCallMinMs'>, logger: Logger): WorkerSessionOptions {
  return {
    executionProviders: ['cpu'],
    ...(config.ortIntraOpThreads === undefined ? {} : { intraOpNumThreads: config.ortIntraOpThreads }),
    ...(config.debugModelCallMinMs === undefined ? {} : { minRunMs: config.debugModelCallMinMs }),
    logger,
  };
}
