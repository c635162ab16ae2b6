import { openModelFolder, superResolve } from '@magicvideo/diffusion';
async function main() {
  const folder = await openModelFolder('assets/models/magicvideo-tiny', { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const frames = { data: new Uint8Array(61 * 64 * 64 * 3).map((_, i) => (i * 37) % 256), frameCount: 61, height: 64, width: 64 };
  await folder.runner('sr_unet');
  const t = performance.now();
  await superResolve(folder, frames, { seed: 1, steps: 6, sampler: 'ddim', noiseLevel: 20 });
  console.log('sr ms', performance.now() - t);
  await folder.close();
}
void main();
