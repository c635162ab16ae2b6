import { scheduleAlphasCumprod } from './betas';
import { f32, sampleLength } from './float32';
import type { PredictionType, Scheduler, SchedulerConfig } from './scheduler';
import { eulerTimesteps, timestepAt } from './timesteps';

/**
 * `numpy.interp(t, [0 … T−1], sigmas)` in float64: a timestep between training steps (Euler's
 * 'linspace' spacing) gets a linearly interpolated σ.
 */
function interpolateSigma(trainingSigmas: Float32Array, t: number): number {
  const last = trainingSigmas.length - 1;
  if (t >= last) return trainingSigmas[last] as number;
  if (t <= 0) return trainingSigmas[0] as number;
  const j = Math.floor(t);
  const low = trainingSigmas[j] as number;
  if (j === t) return low;
  const slope = (trainingSigmas[j + 1] as number) - low;
  return slope * (t - j) + low;
}

/**
 * Euler's method on the probability-flow ODE in σ (Karras et al. 2022, algorithm 2 with
 * S_churn = 0), diffusers' EulerDiscreteScheduler: x is scaled by 1/√(σ²+1) for the model,
 * x_{i+1} = x_i + (σ_{i+1} − σ_i)·(x_i − x̂_0)/σ_i, with σ = √((1−ᾱ)/ᾱ) and a final σ of 0.
 */
export class EulerDiscreteScheduler implements Scheduler {
  readonly name = 'euler';
  readonly timesteps: readonly number[];
  readonly initNoiseSigma: number;
  readonly alphasCumprod: Float32Array;
  readonly needsNoise = false;
  /** σ per step, then 0 for the end of sampling. */
  private readonly sigmas: Float32Array;
  private readonly predictionType: PredictionType;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    this.alphasCumprod = scheduleAlphasCumprod(config);
    this.timesteps = eulerTimesteps({
      spacing: config.timestep_spacing,
      numInferenceSteps,
      numTrainTimesteps: config.num_train_timesteps,
      stepsOffset: config.steps_offset ?? 0,
    });
    const trainingSigmas = this.alphasCumprod.map((alphaProd) =>
      f32(Math.sqrt(f32(f32(1 - alphaProd) / alphaProd))),
    );
    const sigmas = new Float32Array(this.timesteps.length + 1);
    this.timesteps.forEach((t, i) => {
      sigmas[i] = interpolateSigma(trainingSigmas, t);
    });
    this.sigmas = sigmas;
    this.predictionType = config.prediction_type;
    const maxSigma = Math.max(...sigmas);
    // diffusers: the 'leading' schedule starts below σ_max of training, so its x_T variance is σ² + 1.
    this.initNoiseSigma =
      config.timestep_spacing === 'leading' ? f32(Math.sqrt(f32(f32(maxSigma * maxSigma) + 1))) : maxSigma;
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    const divisor = this.inputScale(this.sigma(stepIndex));
    const scaled = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) scaled[i] = Math.fround((sample[i] as number) / divisor);
    return scaled;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    const sigma = this.sigma(stepIndex);
    const length = sampleLength(sample, modelOutput);
    const predictsVelocity = this.predictionType === 'v_prediction';
    // v: x̂_0 = v·(−σ/√(σ²+1)) + x/(σ²+1).
    const velocityCoeff = f32(-sigma / this.inputScale(sigma));
    const sampleDivisor = f32(f32(sigma * sigma) + 1);
    const dt = f32(this.sigma(stepIndex + 1) - sigma);
    const next = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      const x = sample[i] as number;
      const output = modelOutput[i] as number;
      const x0 = predictsVelocity
        ? Math.fround(Math.fround(output * velocityCoeff) + Math.fround(x / sampleDivisor))
        : Math.fround(x - Math.fround(sigma * output));
      const derivative = Math.fround(Math.fround(x - x0) / sigma);
      next[i] = Math.fround(x + Math.fround(derivative * dt));
    }
    return next;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    const sigma = this.sigma(stepIndex);
    const length = sampleLength(original, noise);
    const noised = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      noised[i] = Math.fround((original[i] as number) + Math.fround((noise[i] as number) * sigma));
    }
    return noised;
  }

  private inputScale(sigma: number): number {
    return f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
  }

  private sigma(index: number): number {
    return this.sigmas[index] as number;
  }
}
