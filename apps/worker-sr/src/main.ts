// The sr stage worker (super-resolution + video encoding, DESIGN.md §1): one BullMQ worker on the `sr` queue.
import { openModelFolder, resolveFfmpegPath } from '@magicvideo/diffusion';
import { runStageWorker, withModelMetrics, workerSessionOptions } from '@magicvideo/shared';
import { srStage } from './sr.processor';

runStageWorker({
  stage: 'sr',
  // Many U-Net calls on whole frames: as long as the key frames, or longer.
  lockDurationMs: 60_000,
  async load({ stage, config, logger, registerCloser }) {
    // Every session load and run is timed into the metrics; the stage functions see the same folder.
    const folder = withModelMetrics(await openModelFolder(config.modelsDir, workerSessionOptions(config, logger)), stage);
    registerCloser('model folder', () => folder.close());
    await folder.runner('sr_unet');
    return srStage({ folder, ffmpegPath: await resolveFfmpegPath() });
  },
}).catch((error: unknown) => {
  process.stderr.write(`worker-sr failed to start: ${String(error)}\n`);
  process.exit(1);
});
