import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler } from './euler';
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
  timestep_spacing: 'linspace',
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

describe('EulerDiscreteScheduler', () => {
  it.each(casesFor(vectors, 'euler').map((c) => [c.name, c] as const))(
    'equals diffusers step by step: %s',
    (_, c) => {
      expectRunMatchesDiffusers(c);
    },
  );

  it('uses fractional timesteps with linspace spacing', () => {
    expect(new EulerDiscreteScheduler(sd1Config, 7).timesteps).toEqual([
      999, 832.5, 666, 499.5, 333, 166.5, 0,
    ]);
  });

  it('lands every step on x0 + σ·ε when the model returns the true noise', () => {
    fc.assert(
      fc.property(sampleArb, sampleArb, fc.integer({ min: 1, max: 30 }), (x0, epsilon, steps) => {
        const scheduler = new EulerDiscreteScheduler(sd1Config, steps);
        let sample = scheduler.addNoise(x0, epsilon, 0);
        const scale = Math.max(1, ...x0.map(Math.abs), ...epsilon.map(Math.abs)) * scheduler.initNoiseSigma;
        for (let i = 0; i < steps; i++) {
          sample = scheduler.step(epsilon, i, sample);
          const expected = i + 1 < steps ? scheduler.addNoise(x0, epsilon, i + 1) : x0;
          if (maxAbsDifference(sample, expected) > 1e-5 * scale) return false;
        }
        return true;
      }),
    );
  });

  it('scales the model input by 1/√(σ²+1)', () => {
    const scheduler = new EulerDiscreteScheduler(sd1Config, 10);
    const scaled = scheduler.scaleModelInput(new Float32Array([scheduler.initNoiseSigma]), 0);
    const sigma = scheduler.initNoiseSigma;
    expect(scaled[0]).toBeCloseTo(sigma / Math.sqrt(sigma * sigma + 1), 6);
  });
});
