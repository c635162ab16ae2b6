import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DdimScheduler } from './ddim';
import type { SchedulerConfig } from './scheduler';
import {
  casesFor,
  expectRunMatchesDiffusers,
  loadSchedulerVectors,
  maxAbsDifference,
} from './scheduler-vectors.fixture';

const vectors = await loadSchedulerVectors();

const sd1Config: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 1,
  clip_sample: false,
  set_alpha_to_one: true,
};

const sampleArb = fc.float32Array({
  minLength: 16,
  maxLength: 16,
  min: -3,
  max: 3,
  noNaN: true,
  noDefaultInfinity: true,
});

describe('DdimScheduler', () => {
  it.each(casesFor(vectors, 'ddim').map((c) => [c.name, c] as const))(
    'equals diffusers step by step: %s',
    (_, c) => {
      expectRunMatchesDiffusers(c);
    },
  );

  it('recovers x0 in one step from any t when eta is 0 and the model returns the true noise', () => {
    // With set_alpha_to_one and 1 inference step, the one step goes from t to ᾱ = 1: x_{t-1} = x̂_0.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999 }),
        fc.constantFrom('epsilon' as const, 'v_prediction' as const),
        sampleArb,
        sampleArb,
        (t, predictionType, x0, epsilon) => {
          const scheduler = new DdimScheduler(
            { ...sd1Config, prediction_type: predictionType, steps_offset: t },
            1,
            0,
          );
          expect(scheduler.timesteps).toEqual([t]);
          const alphaProd = scheduler.alphasCumprod[t] as number;
          const xt = scheduler.addNoise(x0, epsilon, 0);
          const modelOutput =
            predictionType === 'epsilon'
              ? epsilon
              : epsilon.map(
                  (e, i) => Math.sqrt(alphaProd) * e - Math.sqrt(1 - alphaProd) * (x0[i] as number),
                );
          const recovered = scheduler.step(modelOutput, 0, xt);
          // x̂_0 divides by √ᾱ_t, so float32 error grows as ᾱ_t → 0 at large t.
          const scale = Math.max(1, ...x0.map(Math.abs), ...epsilon.map(Math.abs)) / Math.sqrt(alphaProd);
          return maxAbsDifference(recovered, x0) <= 2e-6 * scale;
        },
      ),
    );
  });

  it('needs noise only when eta > 0', () => {
    const sample = new Float32Array(16).fill(0.25);
    expect(new DdimScheduler(sd1Config, 10, 0).needsNoise).toBe(false);
    const stochastic = new DdimScheduler(sd1Config, 10, 0.5);
    expect(stochastic.needsNoise).toBe(true);
    expect(() => stochastic.step(sample, 0, sample)).toThrow(/needs noise/);
  });
});
