// The decode stage worker (VideoVAE decode + preview, DESIGN.md §1): one BullMQ worker on the `decode` queue.
import { runStageWorker, stageNotImplemented } from '@magicvideo/shared';

// The stage logic arrives with its own issue; until then every job fails with StageNotImplemented.
runStageWorker({ stage: 'decode', createProcessor: () => stageNotImplemented('decode') }).catch((error: unknown) => {
  process.stderr.write(`worker-decode failed to start: ${String(error)}\n`);
  process.exit(1);
});
