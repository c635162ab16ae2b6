import { scheduleAlphasCumprod } from './betas';
import { f32, sampleLength } from './float32';
import type { PredictionType, Scheduler, SchedulerConfig } from './scheduler';
import { dpmSolverTimesteps, timestepAt } from './timesteps';

/** α_t = 1/√(σ²+1), σ_t = σ·α_t and λ_t = log α_t − log σ_t for the VP form of σ = √((1−ᾱ)/ᾱ). */
function vpCoefficients(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const sigmaT = f32(sigma * alpha);
  return { alpha, sigma: sigmaT, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(sigmaT))) };
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", algorithm 2), diffusers'
 * DPMSolverMultistepScheduler with algorithm_type 'dpmsolver++', solver_order 2,
 * solver_type 'midpoint', final_sigmas_type 'zero': the first step and the last (σ → 0) are
 * first order, the others reuse the previous step's data prediction.
 *
 * Stateful: steps must come in order, one instance per sampling run.
 */
export class DpmSolverMultistepScheduler implements Scheduler {
  readonly name = 'dpmpp-2m';
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  readonly needsNoise = false;
  /** σ per step, then 0 for the end of sampling. */
  private readonly sigmas: Float32Array;
  private readonly predictionType: PredictionType;
  private previousDataPrediction: Float32Array | undefined;
  private nextStepIndex: number | undefined;

  constructor(config: SchedulerConfig, numInferenceSteps: number) {
    this.alphasCumprod = scheduleAlphasCumprod(config);
    this.timesteps = dpmSolverTimesteps({
      spacing: config.timestep_spacing,
      numInferenceSteps,
      numTrainTimesteps: config.num_train_timesteps,
      stepsOffset: config.steps_offset ?? 0,
    });
    const sigmas = new Float32Array(this.timesteps.length + 1);
    this.timesteps.forEach((t, i) => {
      const alphaProd = this.alphasCumprod[t] as number;
      sigmas[i] = f32(Math.sqrt(f32(f32(1 - alphaProd) / alphaProd)));
    });
    this.sigmas = sigmas;
    this.predictionType = config.prediction_type;
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    return sample;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    if (this.nextStepIndex !== undefined && stepIndex !== this.nextStepIndex) {
      throw new RangeError(
        `dpmpp-2m steps must come in order: expected stepIndex ${this.nextStepIndex}, got ${stepIndex} (use a new scheduler per run)`,
      );
    }
    const current = vpCoefficients(this.sigma(stepIndex));
    const target = vpCoefficients(this.sigma(stepIndex + 1));
    const previous = this.previousDataPrediction;
    const length = sampleLength(sample, modelOutput);
    const isLastStep = stepIndex === this.timesteps.length - 1;
    const predictsVelocity = this.predictionType === 'v_prediction';
    const { alpha: alphaS, sigma: sigmaS } = current;

    const h = f32(target.lambda - current.lambda);
    const sampleCoeff = f32(target.sigma / current.sigma);
    const dataCoeff = f32(target.alpha * f32(f32(Math.exp(-h)) - 1));
    const dataPrediction = new Float32Array(length);
    const prevSample = new Float32Array(length);
    if (previous === undefined || isLastStep) {
      // First order (DPM-Solver++ eq. 8): x_t = σ_t/σ_s·x_s − α_t(e^{−h} − 1)·x̂_0.
      for (let i = 0; i < length; i++) {
        const x = sample[i] as number;
        const output = modelOutput[i] as number;
        const d0 = predictsVelocity
          ? Math.fround(Math.fround(alphaS * x) - Math.fround(sigmaS * output))
          : Math.fround(Math.fround(x - Math.fround(sigmaS * output)) / alphaS);
        dataPrediction[i] = d0;
        prevSample[i] = Math.fround(Math.fround(sampleCoeff * x) - Math.fround(dataCoeff * d0));
      }
    } else {
      // Second-order multistep, midpoint form: D1 = (x̂_0 − x̂_0,prev) / r0, r0 = h_prev / h.
      const earlier = vpCoefficients(this.sigma(stepIndex - 1));
      const r0 = f32(f32(current.lambda - earlier.lambda) / h);
      const inverseR0 = f32(1 / r0);
      const halfDataCoeff = f32(0.5 * dataCoeff);
      sampleLength(sample, previous);
      for (let i = 0; i < length; i++) {
        const x = sample[i] as number;
        const output = modelOutput[i] as number;
        const d0 = predictsVelocity
          ? Math.fround(Math.fround(alphaS * x) - Math.fround(sigmaS * output))
          : Math.fround(Math.fround(x - Math.fround(sigmaS * output)) / alphaS);
        dataPrediction[i] = d0;
        const d1 = Math.fround(inverseR0 * Math.fround(d0 - (previous[i] as number)));
        const firstOrder = Math.fround(Math.fround(sampleCoeff * x) - Math.fround(dataCoeff * d0));
        prevSample[i] = Math.fround(firstOrder - Math.fround(halfDataCoeff * d1));
      }
    }
    this.previousDataPrediction = dataPrediction;
    this.nextStepIndex = stepIndex + 1;
    return prevSample;
  }

  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    timestepAt(this.timesteps, stepIndex);
    const { alpha, sigma } = vpCoefficients(this.sigma(stepIndex));
    const length = sampleLength(original, noise);
    const noised = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      noised[i] = Math.fround(
        Math.fround(alpha * (original[i] as number)) + Math.fround(sigma * (noise[i] as number)),
      );
    }
    return noised;
  }

  private sigma(index: number): number {
    return this.sigmas[index] as number;
  }
}
