import { scheduleAlphasCumprod } from './betas';
import { elementwise1, elementwise2, f32 } from './float32';
import type { PredictionType, Scheduler, SchedulerConfig } from './scheduler';
import { discreteTimesteps, timestepAt } from './timesteps';

/**
 * The forward process q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) (Ho et al. 2020, eq. 4), as
 * diffusers' DDPMScheduler.add_noise: also the SR stage's noise conditioning augmentation
 * (paper §3.4) at any noise level t in [0, T).
 */
export function addNoiseAtTimestep(
  alphasCumprod: Float32Array,
  original: Float32Array,
  noise: Float32Array,
  timestep: number,
): Float32Array {
  const alphaProd = alphasCumprod[timestep];
  if (!Number.isInteger(timestep) || alphaProd === undefined) {
    throw new RangeError(`timestep must be an integer in [0, ${alphasCumprod.length - 1}], got ${timestep}`);
  }
  const sqrtAlphaProd = f32(Math.sqrt(alphaProd));
  const sqrtOneMinusAlphaProd = f32(Math.sqrt(f32(1 - alphaProd)));
  return elementwise2(original, noise, (x0, eps) =>
    f32(f32(sqrtAlphaProd * x0) + f32(sqrtOneMinusAlphaProd * eps)),
  );
}

/** x̂_0 from the model output (epsilon: (x_t − √(1−ᾱ)·ε)/√ᾱ; v: √ᾱ·x_t − √(1−ᾱ)·v), optionally clamped. */
export function predictOriginalSample(
  predictionType: PredictionType,
  alphaProd: number,
  modelOutput: Float32Array,
  sample: Float32Array,
  clipRange: number | undefined,
): Float32Array {
  const sqrtAlphaProd = f32(Math.sqrt(alphaProd));
  const sqrtBetaProd = f32(Math.sqrt(f32(1 - alphaProd)));
  const x0 =
    predictionType === 'epsilon'
      ? elementwise2(sample, modelOutput, (x, eps) => f32(f32(x - f32(sqrtBetaProd * eps)) / sqrtAlphaProd))
      : elementwise2(sample, modelOutput, (x, v) => f32(f32(sqrtAlphaProd * x) - f32(sqrtBetaProd * v)));
  if (clipRange === undefined) return x0;
  const range = f32(clipRange);
  return elementwise1(x0, (x) => Math.min(Math.max(x, -range), range));
}

/**
 * DDPM ancestral sampling (Ho et al. 2020, eq. 6–7), diffusers' DDPMScheduler with
 * variance_type 'fixed_small': x_{t−1} = μ̃(x_t, x̂_0) + σ_t·z, σ_t² = β̃_t.
 */
export class DdpmScheduler implements Scheduler {
  readonly name = 'ddpm';
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  readonly needsNoise = true;
  private readonly predictionType: PredictionType;
  private readonly clipRange: number | undefined;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    this.alphasCumprod = scheduleAlphasCumprod(config);
    this.timesteps = discreteTimesteps({
      spacing: config.timestep_spacing,
      numInferenceSteps,
      numTrainTimesteps: config.num_train_timesteps,
      stepsOffset: config.steps_offset ?? 0,
    });
    this.predictionType = config.prediction_type;
    this.clipRange = (config.clip_sample ?? true) ? (config.clip_sample_range ?? 1) : undefined;
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    return sample;
  }

  /** `noise` is required for every timestep above 0 (diffusers adds none at t = 0). */
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    noise?: Float32Array,
  ): Float32Array {
    const t = timestepAt(this.timesteps, stepIndex);
    const prevT = this.timesteps[stepIndex + 1] ?? -1;
    const alphaProd = this.alphaProd(t);
    const alphaProdPrev = prevT >= 0 ? this.alphaProd(prevT) : 1;
    const betaProd = f32(1 - alphaProd);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const currentAlpha = f32(alphaProd / alphaProdPrev);
    const currentBeta = f32(1 - currentAlpha);

    const x0 = predictOriginalSample(this.predictionType, alphaProd, modelOutput, sample, this.clipRange);
    // Posterior mean μ̃_t (Ho et al. 2020, eq. 7).
    const x0Coeff = f32(f32(f32(Math.sqrt(alphaProdPrev)) * currentBeta) / betaProd);
    const sampleCoeff = f32(f32(f32(Math.sqrt(currentAlpha)) * betaProdPrev) / betaProd);
    const mean = elementwise2(x0, sample, (x0i, xi) => f32(f32(x0Coeff * x0i) + f32(sampleCoeff * xi)));
    if (t <= 0) return mean;
    if (noise === undefined) throw new RangeError(`ddpm step at timestep ${t} needs noise`);

    // β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, clamped as diffusers does (it is 0 on the last step).
    const variance = Math.max(f32(f32(betaProdPrev / betaProd) * currentBeta), f32(1e-20));
    const std = f32(Math.sqrt(variance));
    return elementwise2(mean, noise, (mu, z) => f32(mu + f32(std * z)));
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtTimestep(this.alphasCumprod, original, noise, timestepAt(this.timesteps, stepIndex));
  }

  private alphaProd(t: number): number {
    return this.alphasCumprod[t] as number;
  }
}
