// The decode stage worker (VideoVAE decode + a quick preview, DESIGN.md §1): one BullMQ worker on the `decode` queue.
import { openModelFolder, resolveFfmpegPath } from '@magicvideo/diffusion';
import { runStageWorker, withModelMetrics, workerSessionOptions } from '@magicvideo/shared';
import { decodeStage } from './decode.processor';

runStageWorker({
  stage: 'decode',
  // A few decoder calls: the shortest stage.
  lockDurationMs: 30_000,
  async load({ stage, config, logger, registerCloser }) {
    // Every session load and run is timed into the metrics; the stage functions see the same folder.
    const folder = withModelMetrics(await openModelFolder(config.modelsDir, workerSessionOptions(config, logger)), stage);
    registerCloser('model folder', () => folder.close());
    await folder.runner('vae_decoder');
    return decodeStage({ folder, ffmpegPath: await resolveFfmpegPath() });
  },
}).catch((error: unknown) => {
  process.stderr.write(`worker-decode failed to start: ${String(error)}\n`);
  process.exit(1);
});
