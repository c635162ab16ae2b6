import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DpmSolverMultistepScheduler } from './dpm-solver';
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
  timestep_spacing: 'trailing',
  steps_offset: 1,
};

const sampleArb = fc.float32Array({
  minLength: 16,
  maxLength: 16,
  min: -3,
  max: 3,
  noNaN: true,
  noDefaultInfinity: true,
});

describe('DpmSolverMultistepScheduler (DPM-Solver++ 2M)', () => {
  it.each(casesFor(vectors, 'dpmpp-2m').map((c) => [c.name, c] as const))(
    'equals diffusers step by step: %s',
    (_, c) => {
      expectRunMatchesDiffusers(c);
    },
  );

  it('follows the forward process exactly when the model returns the true noise', () => {
    // Every DPM-Solver++ step is exact for a constant data prediction, so with ε the true noise,
    // each step lands on α_s·x0 + σ_s·ε at the next step's noise level; the last lands on x0.
    const scheduler = new DpmSolverMultistepScheduler(sd1Config, 6);
    fc.assert(
      fc.property(sampleArb, sampleArb, (x0, epsilon) => {
        const run = new DpmSolverMultistepScheduler(sd1Config, 6);
        let sample = run.addNoise(x0, epsilon, 0);
        const scale = Math.max(1, ...x0.map(Math.abs), ...epsilon.map(Math.abs));
        for (let i = 0; i < run.timesteps.length; i++) {
          sample = run.step(epsilon, i, sample);
          const expected = i + 1 < run.timesteps.length ? scheduler.addNoise(x0, epsilon, i + 1) : x0;
          if (maxAbsDifference(sample, expected) > 1e-4 * scale) return false;
        }
        return true;
      }),
    );
  });

  it('refuses steps out of order, since it carries the previous model output', () => {
    const scheduler = new DpmSolverMultistepScheduler(sd1Config, 10);
    const sample = new Float32Array(16).fill(0.1);
    scheduler.step(sample, 0, sample);
    expect(() => scheduler.step(sample, 2, sample)).toThrow(/in order/);
  });
});
