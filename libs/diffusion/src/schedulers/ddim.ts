import { scheduleAlphasCumprod } from './betas';
import { addNoiseAtTimestep, originalSampleCoefficients } from './ddpm';
import { f32, sampleLength } from './float32';
import type { PredictionType, Scheduler, SchedulerConfig } from './scheduler';
import { discreteTimesteps, timestepAt } from './timesteps';

/**
 * DDIM (Song et al. 2021, eq. 12), diffusers' DDIMScheduler:
 *   x_{t−1} = √ᾱ_{t−1}·x̂_0 + √(1 − ᾱ_{t−1} − σ_t²)·ε̂ + σ_t·z,  σ_t = η·√((1−ᾱ_{t−1})/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_{t−1})).
 * Like diffusers, the "previous" timestep is t − T/n (integer division), whatever the spacing.
 */
export class DdimScheduler implements Scheduler {
  readonly name = 'ddim';
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  readonly needsNoise: boolean;
  private readonly finalAlphaCumprod: number;
  private readonly stepRatio: number;
  private readonly predictionType: PredictionType;
  private readonly clipRange: number | undefined;

  constructor(
    config: SchedulerConfig,
    numInferenceSteps: number,
    private readonly eta: number,
  ) {
    this.alphasCumprod = scheduleAlphasCumprod(config);
    this.timesteps = discreteTimesteps({
      spacing: config.timestep_spacing,
      numInferenceSteps,
      numTrainTimesteps: config.num_train_timesteps,
      stepsOffset: config.steps_offset ?? 0,
    });
    this.finalAlphaCumprod = (config.set_alpha_to_one ?? true) ? 1 : (this.alphasCumprod[0] as number);
    this.stepRatio = Math.floor(config.num_train_timesteps / numInferenceSteps);
    this.predictionType = config.prediction_type;
    this.clipRange = (config.clip_sample ?? true) ? (config.clip_sample_range ?? 1) : undefined;
    this.needsNoise = eta > 0;
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    return sample;
  }

  /** `noise` (diffusers' `variance_noise`) is required when eta > 0 and ignored otherwise. */
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    noise?: Float32Array,
  ): Float32Array {
    const t = timestepAt(this.timesteps, stepIndex);
    const prevT = t - this.stepRatio;
    const alphaProd = this.alphasCumprod[t] as number;
    const alphaProdPrev = prevT >= 0 ? (this.alphasCumprod[prevT] as number) : this.finalAlphaCumprod;
    const betaProd = f32(1 - alphaProd);
    const length = sampleLength(sample, modelOutput);
    const stepNoise = this.eta > 0 ? noise : undefined;
    if (this.eta > 0) {
      if (noise === undefined) throw new RangeError(`ddim step with eta ${this.eta} needs noise`);
      sampleLength(sample, noise);
    }
    const { predictsVelocity, sqrtAlphaProd, sqrtBetaProd, clips, clipRange } = originalSampleCoefficients(
      this.predictionType,
      alphaProd,
      this.clipRange,
    );
    const variance = f32(f32(f32(1 - alphaProdPrev) / betaProd) * f32(1 - f32(alphaProd / alphaProdPrev)));
    const std = f32(f32(this.eta) * f32(Math.sqrt(variance)));
    const directionCoeff = f32(Math.sqrt(f32(f32(1 - alphaProdPrev) - f32(std * std))));
    const sqrtAlphaProdPrev = f32(Math.sqrt(alphaProdPrev));

    // One fused pass, each element rounded to float32 at the same points as diffusers' tensor ops.
    const prev = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const x = sample[i] as number;
      const output = modelOutput[i] as number;
      let x0: number;
      let epsilon: number;
      if (predictsVelocity) {
        x0 = Math.fround(Math.fround(sqrtAlphaProd * x) - Math.fround(sqrtBetaProd * output));
        epsilon = Math.fround(Math.fround(sqrtAlphaProd * output) + Math.fround(sqrtBetaProd * x));
      } else {
        x0 = Math.fround(Math.fround(x - Math.fround(sqrtBetaProd * output)) / sqrtAlphaProd);
        epsilon = output;
      }
      if (clips) x0 = Math.min(Math.max(x0, -clipRange), clipRange);
      const next = Math.fround(Math.fround(sqrtAlphaProdPrev * x0) + Math.fround(directionCoeff * epsilon));
      prev[i] =
        stepNoise === undefined ? next : Math.fround(next + Math.fround(std * (stepNoise[i] as number)));
    }
    return prev;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtTimestep(this.alphasCumprod, original, noise, timestepAt(this.timesteps, stepIndex));
  }
}
