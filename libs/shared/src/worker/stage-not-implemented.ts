import type { Job } from 'bullmq';
import type { StageName } from '../contracts/queue-names';
import { StageError } from './stage-error';

/**
 * The processor every stage worker runs until its stage logic lands (the key-frame,
 * interpolation, decode and super-resolution issues each replace it with their processor):
 * it fails each job at once with `StageNotImplemented`, so a flow fails visibly instead of
 * waiting for ever.
 */
export function stageNotImplemented(stage: StageName) {
  return async (job: Job): Promise<never> => {
    throw new StageError('StageNotImplemented', `the ${stage} stage is not implemented yet (job ${job.id})`);
  };
}
