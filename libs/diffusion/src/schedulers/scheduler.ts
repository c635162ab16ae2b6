import type { BetaSchedule } from './betas';
import { DdimScheduler } from './ddim';
import { DdpmScheduler } from './ddpm';
import { DpmSolverMultistepScheduler } from './dpm-solver';
import { EulerDiscreteScheduler } from './euler';
import type { TimestepSpacing } from './timesteps';

export type SchedulerName = 'ddpm' | 'ddim' | 'dpmpp-2m' | 'euler';
export const schedulerNames: readonly SchedulerName[] = ['ddpm', 'ddim', 'dpmpp-2m', 'euler'];

/** What the network predicts: the noise ε, or v = ᾱ^½·ε − (1−ᾱ)^½·x₀ (Salimans & Ho 2022). */
export type PredictionType = 'epsilon' | 'v_prediction';

/**
 * A scheduler's configuration in diffusers' own key names, as `model_index.json` carries it
 * (a diffusers `scheduler_config.json` can be passed as is). Keys this runtime does not
 * implement must hold diffusers' default, or `createScheduler` refuses the config.
 */
export interface SchedulerConfig {
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: BetaSchedule;
  readonly prediction_type: PredictionType;
  readonly timestep_spacing: TimestepSpacing;
  /** Added to 'leading' timesteps; Stable Diffusion 1.x uses 1. Default 0. */
  readonly steps_offset?: number;
  /** DDPM, DDIM: clamp the predicted x₀ to ±clip_sample_range. diffusers' default: true. */
  readonly clip_sample?: boolean;
  readonly clip_sample_range?: number;
  /** DDIM: ᾱ after the last step is 1 (true) or ᾱ_0 (false). diffusers' default: true. */
  readonly set_alpha_to_one?: boolean;
  readonly [diffusersKey: string]: unknown;
}

/** Per sampling run. */
export interface SamplingOptions {
  readonly numInferenceSteps: number;
  /** DDIM's η: 0 is deterministic DDIM, 1 is DDPM-like (Song et al. 2021, eq. 16). */
  readonly eta?: number;
}

/**
 * One sampling run of one diffusion scheduler. Every step equals diffusers' on the same inputs
 * (libs/diffusion/test/fixtures/scheduler-vectors.json).
 *
 * A run is a loop over `stepIndex` = 0 … timesteps.length − 1 (img2img starts later):
 *   input = scaleModelInput(sample, stepIndex)
 *   modelOutput = model(input, timesteps[stepIndex])   // then classifier-free guidance
 *   sample = step(modelOutput, stepIndex, sample, needsNoise ? noise : undefined)
 *
 * An instance belongs to one run: DPM-Solver++ remembers the previous step's model output, so
 * its steps must come in order. Create a fresh scheduler for each run. Samples are flat
 * Float32Arrays of any one shape; inputs are never modified.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** The model's timestep input per step, first the noisiest. Integers, except Euler with 'linspace' spacing (float32 values). */
  readonly timesteps: readonly number[];
  /** Scale of the initial Gaussian noise: x_T = initNoiseSigma · N(0, I). */
  readonly initNoiseSigma: number;
  /** ᾱ_t for t = 0 … num_train_timesteps − 1 (float32), for noise-level conditioning. */
  readonly alphasCumprod: Float32Array;
  /** Whether `step` needs fresh Gaussian noise of the sample's shape (drawn by the caller from the seeded generator). */
  readonly needsNoise: boolean;
  /** The model's input at this step (Euler divides by √(σ²+1); the others return `sample` itself). */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array;
  /** x_{t−1} from x_t and the model output at timesteps[stepIndex]. */
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    noise?: Float32Array,
  ): Float32Array;
  /** Noise a clean sample to the level of timesteps[stepIndex] (img2img / SDEdit start), as diffusers' add_noise. */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array;
}

/** A scheduler config this runtime cannot run exactly as diffusers would. */
export class UnsupportedSchedulerConfig extends Error {
  readonly code = 'UnsupportedSchedulerConfig';
  constructor(readonly issues: readonly string[]) {
    super(`Unsupported scheduler config: ${issues.join('; ')}`);
    this.name = 'UnsupportedSchedulerConfig';
  }
}

/** diffusers options whose non-default values change the arithmetic; only the default is implemented. */
const onlyDefaults: Readonly<Record<string, readonly unknown[]>> = {
  trained_betas: [null],
  thresholding: [false],
  rescale_betas_zero_snr: [false],
  use_karras_sigmas: [false, null],
  use_exponential_sigmas: [false, null],
  use_beta_sigmas: [false, null],
  use_lu_lambdas: [false],
  use_flow_sigmas: [false],
  use_dynamic_shifting: [false],
  timestep_type: ['discrete'],
  interpolation_type: ['linear'],
  final_sigmas_type: ['zero'],
  algorithm_type: ['dpmsolver++'],
  solver_order: [2],
  solver_type: ['midpoint'],
  euler_at_final: [false],
  variance_type: ['fixed_small', null],
  lambda_min_clipped: [-Infinity, '-Infinity'],
};

function configIssues(config: SchedulerConfig): string[] {
  const issues: string[] = [];
  const oneOf = (key: string, allowed: readonly unknown[]) => {
    if (!allowed.includes(config[key])) {
      issues.push(
        `${key} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(config[key])}`,
      );
    }
  };
  oneOf('beta_schedule', ['linear', 'scaled_linear']);
  oneOf('prediction_type', ['epsilon', 'v_prediction']);
  oneOf('timestep_spacing', ['leading', 'trailing', 'linspace']);
  if (!Number.isInteger(config.num_train_timesteps) || config.num_train_timesteps < 1) {
    issues.push(
      `num_train_timesteps must be a positive integer, got ${JSON.stringify(config.num_train_timesteps)}`,
    );
  }
  for (const key of ['beta_start', 'beta_end'] as const) {
    if (typeof config[key] !== 'number' || !(config[key] > 0 && config[key] < 1)) {
      issues.push(`${key} must be a number in (0, 1), got ${JSON.stringify(config[key])}`);
    }
  }
  if (config.steps_offset !== undefined && !Number.isInteger(config.steps_offset)) {
    issues.push(`steps_offset must be an integer, got ${JSON.stringify(config.steps_offset)}`);
  }
  for (const [key, allowed] of Object.entries(onlyDefaults)) {
    if (config[key] !== undefined) oneOf(key, allowed);
  }
  return issues;
}

/**
 * A scheduler for one sampling run. `name` picks diffusers' DDPMScheduler, DDIMScheduler,
 * DPMSolverMultistepScheduler (DPM-Solver++ 2M) or EulerDiscreteScheduler.
 */
export function createScheduler(
  name: SchedulerName,
  config: SchedulerConfig,
  options: SamplingOptions,
): Scheduler {
  const issues = configIssues(config);
  const eta = options.eta ?? 0;
  if (eta !== 0 && name !== 'ddim') issues.push(`eta applies to ddim only, got eta ${eta} for ${name}`);
  if (!(eta >= 0)) issues.push(`eta must be ≥ 0, got ${eta}`);
  if (issues.length > 0) throw new UnsupportedSchedulerConfig(issues);
  switch (name) {
    case 'ddpm':
      return new DdpmScheduler(config, options.numInferenceSteps);
    case 'ddim':
      return new DdimScheduler(config, options.numInferenceSteps, eta);
    case 'dpmpp-2m':
      return new DpmSolverMultistepScheduler(config, options.numInferenceSteps);
    case 'euler':
      return new EulerDiscreteScheduler(config, options.numInferenceSteps);
    default:
      throw new UnsupportedSchedulerConfig([`unknown scheduler ${JSON.stringify(name)}`]);
  }
}
