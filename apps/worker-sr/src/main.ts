// The sr stage worker (super-resolution + video encoding, DESIGN.md §1): one BullMQ worker on the `sr` queue.
import { runStageWorker, stageNotImplemented } from '@magicvideo/shared';

// The stage logic arrives with its own issue; until then every job fails with StageNotImplemented.
runStageWorker({ stage: 'sr', createProcessor: () => stageNotImplemented('sr') }).catch((error: unknown) => {
  process.stderr.write(`worker-sr failed to start: ${String(error)}\n`);
  process.exit(1);
});
