import { scheduleAlphasCumprod } from './betas';
import { f32, sampleLength } from './float32';
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
  const length = sampleLength(original, noise);
  const noised = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    noised[i] = Math.fround(
      Math.fround(sqrtAlphaProd * (original[i] as number)) +
        Math.fround(sqrtOneMinusAlphaProd * (noise[i] as number)),
    );
  }
  return noised;
}

/**
 * The per-step constants of x̂_0 from the model output (float32): epsilon: (x_t − √(1−ᾱ)·ε)/√ᾱ;
 * v: √ᾱ·x_t − √(1−ᾱ)·v; then clamped to ±clipRange when clipping.
 */
export interface OriginalSampleCoefficients {
  readonly predictsVelocity: boolean;
  readonly sqrtAlphaProd: number;
  readonly sqrtBetaProd: number;
  readonly clips: boolean;
  readonly clipRange: number;
}

export function originalSampleCoefficients(
  predictionType: PredictionType,
  alphaProd: number,
  clipRange: number | undefined,
): OriginalSampleCoefficients {
  return {
    predictsVelocity: predictionType === 'v_prediction',
    sqrtAlphaProd: f32(Math.sqrt(alphaProd)),
    sqrtBetaProd: f32(Math.sqrt(f32(1 - alphaProd))),
    clips: clipRange !== undefined,
    clipRange: f32(clipRange ?? 0),
  };
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

    const length = sampleLength(sample, modelOutput);
    // diffusers adds no noise on the step to t = 0.
    const stepNoise = t > 0 ? noise : undefined;
    if (t > 0) {
      if (noise === undefined) throw new RangeError(`ddpm step at timestep ${t} needs noise`);
      sampleLength(sample, noise);
    }
    const noiseStd = t > 0 ? this.noiseStd(betaProd, betaProdPrev, currentBeta) : 0;
    const { predictsVelocity, sqrtAlphaProd, sqrtBetaProd, clips, clipRange } = originalSampleCoefficients(
      this.predictionType,
      alphaProd,
      this.clipRange,
    );
    // Posterior mean μ̃_t (Ho et al. 2020, eq. 7).
    const x0Coeff = f32(f32(f32(Math.sqrt(alphaProdPrev)) * currentBeta) / betaProd);
    const sampleCoeff = f32(f32(f32(Math.sqrt(currentAlpha)) * betaProdPrev) / betaProd);
    // One fused pass, each element rounded to float32 at the same points as diffusers' tensor ops.
    const prev = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const x = sample[i] as number;
      const output = modelOutput[i] as number;
      let x0 = predictsVelocity
        ? Math.fround(Math.fround(sqrtAlphaProd * x) - Math.fround(sqrtBetaProd * output))
        : Math.fround(Math.fround(x - Math.fround(sqrtBetaProd * output)) / sqrtAlphaProd);
      if (clips) x0 = Math.min(Math.max(x0, -clipRange), clipRange);
      const mean = Math.fround(Math.fround(x0Coeff * x0) + Math.fround(sampleCoeff * x));
      prev[i] =
        stepNoise === undefined ? mean : Math.fround(mean + Math.fround(noiseStd * (stepNoise[i] as number)));
    }
    return prev;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtTimestep(this.alphasCumprod, original, noise, timestepAt(this.timesteps, stepIndex));
  }

  /** σ_t = √β̃_t, β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, clamped as diffusers does (it is 0 on the last step). */
  private noiseStd(betaProd: number, betaProdPrev: number, currentBeta: number): number {
    const variance = Math.max(f32(f32(betaProdPrev / betaProd) * currentBeta), f32(1e-20));
    return f32(Math.sqrt(variance));
  }

  private alphaProd(t: number): number {
    return this.alphasCumprod[t] as number;
  }
}
