// The interp stage worker (latent frame interpolation, DESIGN.md §1): one BullMQ worker on the `interp` queue.
import { openModelFolder, resolveFfmpegPath } from '@magicvideo/diffusion';
import { runStageWorker, withModelMetrics, workerSessionOptions } from '@magicvideo/shared';
import { interpStage } from './interp.processor';

runStageWorker({
  stage: 'interp',
  lockDurationMs: 60_000,
  async load({ stage, config, logger, registerCloser }) {
    // Every session load and run is timed into the metrics; the stage functions see the same folder.
    const folder = withModelMetrics(await openModelFolder(config.modelsDir, workerSessionOptions(config, logger)), stage);
    registerCloser('model folder', () => folder.close());
    // Every session this stage runs, created now rather than on the first job.
    await Promise.all([folder.runner('vae_decoder'), folder.runner('image_encoder'), folder.runner('interp_unet')]);
    return interpStage({ folder, ffmpegPath: await resolveFfmpegPath() });
  },
}).catch((error: unknown) => {
  process.stderr.write(`worker-interp failed to start: ${String(error)}\n`);
  process.exit(1);
});
