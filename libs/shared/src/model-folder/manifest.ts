import { z } from 'zod';

/**
 * `model_index.json` of a model folder, as zod schemas mirroring the contract's `manifestSchema`
 * (libs/shared/src/model-folder/model-folder.contract.json). manifest.spec.ts compares the two
 * (required keys, property names, enums, consts, types), so they cannot drift apart.
 * Objects are loose, as in the JSON Schema: unknown keys pass through.
 */

export const SAMPLER_NAMES = ['ddpm', 'ddim', 'dpmpp-2m', 'euler'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

const positiveInteger = z.int().min(1);

/** A diffusers scheduler config, diffusers' key names. */
export const schedulerConfigSchema = z.looseObject({
  num_train_timesteps: positiveInteger,
  beta_start: z.number().gt(0),
  beta_end: z.number().gt(0),
  beta_schedule: z.enum(['linear', 'scaled_linear']),
  prediction_type: z.enum(['epsilon', 'v_prediction']),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']),
  steps_offset: z.int().min(0),
  clip_sample: z.boolean().optional(),
  set_alpha_to_one: z.boolean().optional(),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

const onnxFile = z.string().regex(/^[a-z_]+\/model\.onnx$/);

export const manifestSchema = z.looseObject({
  _class_name: z.literal('MagicVideoPipeline'),
  family: z.literal('magicvideo'),
  version: z.string().min(1),
  config_name: z.string().min(1),
  contract_version: z.literal(1),
  /** key frames per clip (16 in the paper) */
  frames: z.int().min(2),
  /** latent frame rate multiplier of interpolation: (frames - 1) * factor + 1 frames out */
  interp_factor: positiveInteger,
  latent_channels: positiveInteger,
  /** pixels per latent cell along each side */
  vae_scale_factor: positiveInteger,
  /** diffusion latents = VAE latents * factor */
  latent_scaling_factor: z.number().gt(0),
  /** key-frame pixel size */
  sample_size: z.looseObject({ height: z.int().min(8), width: z.int().min(8) }),
  /** super-resolution factor (pixel space) */
  sr_scale: positiveInteger,
  text: z.looseObject({ max_length: positiveInteger, hidden_size: positiveInteger }),
  image_encoder: z.looseObject({
    image_size: z.int().min(8),
    embed_dim: positiveInteger,
    image_mean: z.array(z.number()).min(3).max(3),
    image_std: z.array(z.number()).min(3).max(3),
  }),
  vae: z.looseObject({
    /** preceding latent frames an output frame of vae_decoder depends on (chunked decoding context) */
    decoder_context_frames: z.int().min(0),
  }),
  /** facts of sr_unet the runtime needs to run it on tiles (present when the folder has sr_unet) */
  super_resolution: z
    .looseObject({
      size_multiple: positiveInteger,
      /** an output pixel depends only on inputs within this many pixels: the exact-tiling halo */
      receptive_field_radius: z.int().min(0),
    })
    .optional(),
  schedulers: z.looseObject({
    unet: schedulerConfigSchema,
    interp_unet: schedulerConfigSchema.optional(),
    sr_unet: schedulerConfigSchema.optional(),
  }),
  defaults: z.looseObject({
    num_inference_steps: positiveInteger,
    guidance_scale: z.number().min(0),
    sampler: z.enum(SAMPLER_NAMES),
    interp_num_inference_steps: positiveInteger.optional(),
    sr_num_inference_steps: positiveInteger.optional(),
    sr_noise_level: z.int().min(0).optional(),
  }),
  /** range of the FPS condition nu (paper eq. 5) seen in training */
  fps: z.looseObject({ min: z.number().gt(0), max: z.number().gt(0), default: z.number().gt(0) }),
  /** model name -> ONNX file path relative to the folder; names are the contract's `models` keys */
  models: z.object({ text_encoder: onnxFile, unet: onnxFile, vae_decoder: onnxFile }).catchall(onnxFile),
  /** free-form training summary */
  training: z.looseObject({}).optional(),
});
export type ModelFolderManifest = z.infer<typeof manifestSchema>;
