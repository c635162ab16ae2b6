import type { SamplerName } from '../model-folder/manifest';
import { applyGuidance } from '../guidance/classifier-free-guidance';
import { NoisePurpose, seededGaussian, streamId } from '../noise/seeded-noise';
import { createScheduler, type Scheduler, type SchedulerConfig } from '../schedulers/scheduler';
import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor } from '../sessions/tensor-dtypes';
import { throwIfCancelled } from './stage-cancelled';
import type { StageContext } from './stage-context';

/** The text condition: `encodeText`'s output, or `text.safetensors` read back. */
export interface KeyframeText {
  /** [1, L, D] */
  cond: FloatTensor;
  /** [1, L, D] */
  uncond: FloatTensor;
}

/** SDEdit (image-to-video, video editing; paper §4.3): start from noised latents of an input. */
export interface KeyframeInit {
  /** [1, C, F, h, w] scaled diffusion latents (VAE latents × latent_scaling_factor) */
  latents: FloatTensor;
  /** How much of the schedule to run: 1 ignores the input, near 0 keeps it (diffusers' img2img `strength`). */
  strength: number;
}

export interface KeyframeOptions {
  seed: number;
  steps: number;
  guidanceScale: number;
  sampler: SamplerName;
  /** FPS condition ν (paper eq. 5), fed to the U-Net as float32 [B] */
  fps: number;
  /** DDIM's η (ddim only); 0 is deterministic */
  eta?: number;
  init?: KeyframeInit;
}

const STAGE = 'keyframes';
const UNET_OUTPUT = 'out_sample';

/**
 * The key-frame diffusion stage (paper §3.1): samples [1, C, F, h, w] scaled latents with the
 * 3D U-Net exactly as the Python reference sampler (magicvideo_models.sampling.sample,
 * docs/models.md "Sampling"): seeded initial noise × init_noise_sigma, classifier-free guidance
 * as one batch [uncond, cond] when guidanceScale > 1, step noise from the step stream.
 *
 * With `init`, the run is diffusers' img2img schedule: the last ⌊steps·strength⌋ steps, from the
 * input latents noised to the first of them with `scheduler.addNoise` and the SDEdit stream;
 * step noise then takes the scheduler's step index as its stream index.
 */
export async function generateKeyframes(
  folder: ModelFolder,
  text: KeyframeText,
  options: KeyframeOptions,
  ctx: StageContext = {},
): Promise<FloatTensor> {
  const { manifest } = folder;
  const dims = [
    1,
    manifest.latent_channels,
    manifest.frames,
    manifest.sample_size.height / manifest.vae_scale_factor,
    manifest.sample_size.width / manifest.vae_scale_factor,
  ];
  const count = dims.reduce((product, size) => product * size, 1);
  checkOptions(options, dims);
  checkText(text, manifest.text.max_length, manifest.text.hidden_size);
  throwIfCancelled(STAGE, ctx.signal);

  const scheduler = createScheduler(options.sampler, manifest.schedulers.unet as SchedulerConfig, {
    numInferenceSteps: options.steps,
    ...(options.eta !== undefined && { eta: options.eta }),
  });
  const firstStep = options.init === undefined ? 0 : img2imgStartIndex(options.steps, options.init.strength);
  let latents =
    options.init === undefined
      ? scaled(
          seededGaussian(options.seed, streamId(NoisePurpose.keyframeInitialLatents, 0), count),
          scheduler.initNoiseSigma,
        )
      : scheduler.addNoise(
          options.init.latents.data,
          seededGaussian(options.seed, streamId(NoisePurpose.sdeditNoise, 0), count),
          firstStep,
        );

  const guided = options.guidanceScale > 1;
  const branches = guided ? 2 : 1;
  const encoderHiddenStates = guided ? concat([text.uncond.data, text.cond.data]) : text.cond.data;
  const unet = await folder.runner('unet');
  const totalSteps = scheduler.timesteps.length - firstStep;
  for (let stepIndex = firstStep; stepIndex < scheduler.timesteps.length; stepIndex++) {
    throwIfCancelled(STAGE, ctx.signal);
    const modelInput = scheduler.scaleModelInput(latents, stepIndex);
    const timestep = scheduler.timesteps[stepIndex] as number;
    const outputs = await unet.run({
      sample: {
        data: guided ? concat([modelInput, modelInput]) : modelInput,
        dims: [branches, ...dims.slice(1)],
      },
      timestep: { data: new Float32Array(branches).fill(timestep), dims: [branches] },
      encoder_hidden_states: { data: encoderHiddenStates, dims: [branches, ...text.cond.dims.slice(1)] },
      fps: { data: new Float32Array(branches).fill(options.fps), dims: [branches] },
    });
    const output = outputs[UNET_OUTPUT];
    if (output?.data.length !== branches * count) {
      throw new Error(
        `unet returned ${UNET_OUTPUT} of dims [${output?.dims.join(', ') ?? ''}], expected [${branches}, ${dims.slice(1).join(', ')}]`,
      );
    }
    const prediction = guided
      ? applyGuidance(output.data.subarray(0, count), output.data.subarray(count), options.guidanceScale)
      : output.data;
    latents = scheduler.step(
      prediction,
      stepIndex,
      latents,
      stepNoise(scheduler, options.seed, stepIndex, count),
    );
    ctx.onProgress?.({ stage: STAGE, step: stepIndex - firstStep + 1, totalSteps });
  }
  throwIfCancelled(STAGE, ctx.signal);
  return { data: latents, dims };
}

/**
 * diffusers' img2img `get_timesteps`: run the last min(⌊steps·strength⌋, steps) steps, i.e.
 * start at step index steps − that (every scheduler here has order 1 per step).
 */
export function img2imgStartIndex(steps: number, strength: number): number {
  if (!(strength > 0 && strength <= 1))
    throw new RangeError(`init strength must be in (0, 1], got ${strength}`);
  const runSteps = Math.min(Math.floor(steps * strength), steps);
  if (runSteps < 1) {
    throw new RangeError(`strength ${strength} of ${steps} steps runs no step (needs steps·strength ≥ 1)`);
  }
  return steps - runSteps;
}

function stepNoise(
  scheduler: Scheduler,
  seed: number,
  stepIndex: number,
  count: number,
): Float32Array | undefined {
  return scheduler.needsNoise
    ? seededGaussian(seed, streamId(NoisePurpose.keyframeStepNoise, stepIndex), count)
    : undefined;
}

/** x · σ in float32, as torch multiplies a float32 tensor by the scheduler's float32 sigma. */
function scaled(values: Float32Array, sigma: number): Float32Array {
  if (sigma === 1) return values;
  const sigma32 = Math.fround(sigma);
  return values.map((value) => value * sigma32);
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const joined = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function checkOptions(options: KeyframeOptions, dims: readonly number[]): void {
  if (!Number.isInteger(options.steps) || options.steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${options.steps}`);
  if (!Number.isFinite(options.guidanceScale))
    throw new RangeError(`guidanceScale must be finite, got ${options.guidanceScale}`);
  if (!(Number.isFinite(options.fps) && options.fps > 0))
    throw new RangeError(`fps must be a positive number, got ${options.fps}`);
  if (!Number.isSafeInteger(options.seed) || options.seed < 0)
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${options.seed}`);
  const init = options.init?.latents;
  if (
    init !== undefined &&
    (init.dims.join() !== dims.join() || init.data.length !== init.dims.reduce((a, b) => a * b, 1))
  ) {
    throw new RangeError(
      `init latents must have dims [${dims.join(', ')}], got [${init.dims.join(', ')}] (${init.data.length} values)`,
    );
  }
}

function checkText(text: KeyframeText, maxLength: number, hiddenSize: number): void {
  for (const [branch, tensor] of [
    ['cond', text.cond],
    ['uncond', text.uncond],
  ] as const) {
    if (
      tensor.dims.join() !== [1, maxLength, hiddenSize].join() ||
      tensor.data.length !== maxLength * hiddenSize
    ) {
      throw new RangeError(
        `text ${branch} must be [1, ${maxLength}, ${hiddenSize}], got [${tensor.dims.join(', ')}]`,
      );
    }
  }
}
