import { f32, float32OfExactSum } from './float32';

/** The beta schedules this runtime implements (diffusers' `beta_schedule` names). */
export type BetaSchedule = 'linear' | 'scaled_linear';

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on the CPU: a float32 step, the first
 * half counted up from `start` and the second half down from `end`, each value one fused
 * multiply-add (a single rounding of start + step·i).
 */
export function float32Linspace(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const from = f32(start);
  const to = f32(end);
  if (steps === 1) {
    out[0] = from;
    return out;
  }
  const step = f32(f32(to - from) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    // step·i is exact in float64 (24-bit mantissa times an integer below 2^29).
    out[i] = i < halfway ? float32OfExactSum(from, step * i) : float32OfExactSum(to, -step * (steps - i - 1));
  }
  return out;
}

/** β_1..β_T as diffusers builds them (float32). `scaled_linear` is Stable Diffusion's: linear in √β. */
export function betaSchedule(
  schedule: BetaSchedule,
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float32Array {
  if (schedule === 'linear') return float32Linspace(betaStart, betaEnd, numTrainTimesteps);
  if (schedule === 'scaled_linear') {
    const rootBetas = float32Linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps);
    return rootBetas.map((rootBeta) => f32(rootBeta * rootBeta));
  }
  throw new Error(`unknown beta schedule ${String(schedule)}`);
}

/**
 * ᾱ_t = ∏_{s≤t} (1 − β_s), the signal level of x_t (DDPM, Ho et al. 2020 eq. 4). torch's CPU
 * cumprod accumulates a float32 tensor's product in float64 and rounds each output to float32.
 */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let product = 1;
  betas.forEach((beta, t) => {
    product *= f32(1 - beta);
    out[t] = product;
  });
  return out;
}

/** The training noise schedule's part of a scheduler config (diffusers' key names). */
export interface NoiseScheduleConfig {
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: BetaSchedule;
}

/** ᾱ_t for t = 0 … T − 1 of a config's beta schedule. */
export function scheduleAlphasCumprod(config: NoiseScheduleConfig): Float32Array {
  return alphasCumprod(
    betaSchedule(config.beta_schedule, config.beta_start, config.beta_end, config.num_train_timesteps),
  );
}
