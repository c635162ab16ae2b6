// The interp stage worker (latent frame interpolation, DESIGN.md §1): one BullMQ worker on the `interp` queue.
import { runStageWorker, stageNotImplemented } from '@magicvideo/shared';

// The stage logic arrives with its own issue; until then every job fails with StageNotImplemented.
runStageWorker({ stage: 'interp', createProcessor: () => stageNotImplemented('interp') }).catch((error: unknown) => {
  process.stderr.write(`worker-interp failed to start: ${String(error)}\n`);
  process.exit(1);
});
