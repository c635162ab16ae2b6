// The keyframe stage worker (text encoding + key-frame diffusion, DESIGN.md §1): one BullMQ worker on the `keyframe` queue.
import { openModelFolder, resolveFfmpegPath } from '@magicvideo/diffusion';
import { runStageWorker, withModelMetrics, workerSessionOptions } from '@magicvideo/shared';
import { keyframeStage } from './keyframe.processor';

runStageWorker({
  stage: 'keyframe',
  // A key-frame run is the longest stage (tens of U-Net calls); a dead worker's job is handed on within a minute.
  lockDurationMs: 60_000,
  async load({ stage, config, logger, registerCloser }) {
    // Every session load and run is timed into the metrics; the stage functions see the same folder.
    const folder = withModelMetrics(await openModelFolder(config.modelsDir, workerSessionOptions(config, logger)), stage);
    registerCloser('model folder', () => folder.close());
    // Every session this stage runs, created now rather than on the first job.
    await Promise.all([folder.runner('unet'), ...(folder.has('vae_encoder') ? [folder.runner('vae_encoder')] : [])]);
    return keyframeStage({ folder, ffmpegPath: await resolveFfmpegPath() });
  },
}).catch((error: unknown) => {
  process.stderr.write(`worker-keyframe failed to start: ${String(error)}\n`);
  process.exit(1);
});
