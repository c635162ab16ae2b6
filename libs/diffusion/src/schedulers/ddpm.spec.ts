import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addNoiseAtTimestep, DdpmScheduler } from './ddpm';
import type { SchedulerConfig } from './scheduler';
import {
  casesFor,
  expectRunMatchesDiffusers,
  float32s,
  loadSchedulerVectors,
  maxAbsDifference,
  relativeMaxError,
  stepTolerance,
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
};

const sampleArb = fc.float32Array({
  minLength: 16,
  maxLength: 16,
  min: -3,
  max: 3,
  noNaN: true,
  noDefaultInfinity: true,
});

describe('DdpmScheduler', () => {
  it.each(casesFor(vectors, 'ddpm').map((c) => [c.name, c] as const))(
    'equals diffusers step by step: %s',
    (_, c) => {
      expectRunMatchesDiffusers(c);
    },
  );

  it.each(vectors.add_noise.map((r) => [`${r.beta_schedule} t=${r.timestep}`, r] as const))(
    'adds noise at a raw timestep as diffusers add_noise does: %s',
    (_, record) => {
      const scheduler = new DdpmScheduler({ ...sd1Config, beta_schedule: record.beta_schedule }, 10);
      const noisy = addNoiseAtTimestep(
        scheduler.alphasCumprod,
        float32s(record.original),
        float32s(record.noise),
        record.timestep,
      );
      expect(relativeMaxError(noisy, float32s(record.noisy))).toBeLessThanOrEqual(stepTolerance);
    },
  );

  it('needs noise above timestep 0 and refuses to step without it', () => {
    const scheduler = new DdpmScheduler(sd1Config, 4);
    expect(scheduler.needsNoise).toBe(true);
    const sample = new Float32Array(16).fill(0.5);
    expect(() => scheduler.step(sample, 0, sample)).toThrow(/needs noise/);
  });

  it('returns x0 (plus at most 1e-10 of the noise) on the last step when the model returns the true noise', () => {
    const scheduler = new DdpmScheduler({ ...sd1Config, timestep_spacing: 'trailing' }, 10);
    const last = scheduler.timesteps.length - 1;
    fc.assert(
      fc.property(sampleArb, sampleArb, sampleArb, (x0, epsilon, z) => {
        const xt = scheduler.addNoise(x0, epsilon, last);
        const prev = scheduler.step(epsilon, last, xt, z);
        return (
          maxAbsDifference(prev, x0) <= 1e-5 * Math.max(1, ...x0.map(Math.abs), ...epsilon.map(Math.abs))
        );
      }),
    );
  });

  it('rejects a timestep outside the training range in addNoiseAtTimestep', () => {
    const scheduler = new DdpmScheduler(sd1Config, 10);
    const x = new Float32Array(4);
    expect(() => addNoiseAtTimestep(scheduler.alphasCumprod, x, x, 1000)).toThrow(RangeError);
    expect(() => addNoiseAtTimestep(scheduler.alphasCumprod, x, x, 2.5)).toThrow(RangeError);
  });
});
