import { readFileSync } from 'node:fs';
import type { ModelFolderManifest } from './manifest';

/** The contract file as the tests read it: from disk, the same bytes @magicvideo/shared ships. */
export const contractJsonForTests: unknown = JSON.parse(
  readFileSync(
    new URL('../../../shared/src/model-folder/model-folder.contract.json', import.meta.url),
    'utf8',
  ),
);

/** A valid manifest of the tiny config (C=4, D=128, L=77, E=128, S=64). */
export function tinyManifest(): ModelFolderManifest {
  return {
    _class_name: 'MagicVideoPipeline',
    family: 'magicvideo',
    version: '0.1.0',
    config_name: 'tiny',
    contract_version: 1,
    frames: 16,
    interp_factor: 4,
    latent_channels: 4,
    vae_scale_factor: 8,
    latent_scaling_factor: 0.18215,
    sample_size: { height: 64, width: 64 },
    sr_scale: 4,
    text: { max_length: 77, hidden_size: 128 },
    image_encoder: {
      image_size: 64,
      embed_dim: 128,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    },
    vae: { decoder_context_frames: 2 },
    schedulers: {
      unet: {
        num_train_timesteps: 1000,
        beta_start: 0.00085,
        beta_end: 0.012,
        beta_schedule: 'scaled_linear',
        prediction_type: 'epsilon',
        timestep_spacing: 'leading',
        steps_offset: 1,
      },
    },
    defaults: { num_inference_steps: 25, guidance_scale: 7.5, sampler: 'ddim' },
    fps: { min: 2, max: 30, default: 8 },
    models: {
      text_encoder: 'text_encoder/model.onnx',
      unet: 'unet/model.onnx',
      vae_decoder: 'vae_decoder/model.onnx',
    },
  };
}
