import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alphasCumprod, betaSchedule, float32Linspace } from './betas';
import { float32OfExactSum } from './float32';
import { loadSchedulerVectors } from './scheduler-vectors.fixture';

const vectors = await loadSchedulerVectors();

describe('beta schedules', () => {
  it.each(['linear', 'scaled_linear'] as const)(
    'alphas_cumprod equals diffusers bit for bit: %s',
    (schedule) => {
      const { beta_start, beta_end, num_train_timesteps } = vectors.schedule;
      const actual = alphasCumprod(betaSchedule(schedule, beta_start, beta_end, num_train_timesteps));
      expect(Array.from(actual)).toEqual(Array.from(Float32Array.from(vectors.alphas_cumprod[schedule])));
    },
  );

  it('starts at start, ends at end and never decreases for increasing bounds', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-5, max: 0.5, noNaN: true }),
        fc.double({ min: 1e-6, max: 0.4, noNaN: true }),
        fc.integer({ min: 2, max: 2000 }),
        (start, width, steps) => {
          const values = float32Linspace(start, start + width, steps);
          const sorted = values.every((v, i) => i === 0 || v >= (values[i - 1] as number));
          return (
            values[0] === Math.fround(start) && values[steps - 1] === Math.fround(start + width) && sorted
          );
        },
      ),
    );
  });

  it('keeps ᾱ_t strictly decreasing in (0, 1)', () => {
    const alphaProds = alphasCumprod(betaSchedule('scaled_linear', 0.00085, 0.012, 1000));
    expect(alphaProds.every((a, t) => a > 0 && a < 1 && (t === 0 || a < (alphaProds[t - 1] as number)))).toBe(
      true,
    );
  });
});

describe('float32OfExactSum', () => {
  it('rounds once where float64-then-float32 would round twice', () => {
    // 1 + 2^-24 is a float32 tie (even: 1); 2^-80 more makes the exact sum round up.
    const a = 1 + 2 ** -24;
    expect(Math.fround(a + 2 ** -80)).toBe(1);
    expect(float32OfExactSum(1, 2 ** -24 + 2 ** -60)).toBe(Math.fround(1 + 2 ** -23));
    expect(float32OfExactSum(1, 2 ** -24 - 2 ** -60)).toBe(1);
    expect(float32OfExactSum(1, 2 ** -24)).toBe(1);
  });
});
