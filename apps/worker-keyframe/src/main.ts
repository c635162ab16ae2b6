// The keyframe stage worker (text encoding + key-frame diffusion, DESIGN.md §1): one BullMQ worker on the `keyframe` queue.
import { runStageWorker, stageNotImplemented } from '@magicvideo/shared';

// The stage logic arrives with its own issue; until then every job fails with StageNotImplemented.
runStageWorker({ stage: 'keyframe', createProcessor: () => stageNotImplemented('keyframe') }).catch((error: unknown) => {
  process.stderr.write(`worker-keyframe failed to start: ${String(error)}\n`);
  process.exit(1);
});
