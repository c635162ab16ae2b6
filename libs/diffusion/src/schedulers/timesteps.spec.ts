import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SchedulerName } from './scheduler';
import { loadSchedulerVectors } from './scheduler-vectors.fixture';
import {
  discreteTimesteps,
  dpmSolverTimesteps,
  eulerTimesteps,
  roundHalfToEven,
  type TimestepSchedule,
  type TimestepSpacing,
} from './timesteps';

const vectors = await loadSchedulerVectors();

const timestepsOf: Record<SchedulerName, (schedule: TimestepSchedule) => number[]> = {
  ddpm: discreteTimesteps,
  ddim: discreteTimesteps,
  'dpmpp-2m': dpmSolverTimesteps,
  euler: eulerTimesteps,
};

describe('timestep spacing', () => {
  it.each(vectors.timestep_tables.map((t) => [`${t.scheduler} ${t.spacing}`, t] as const))(
    'equals diffusers set_timesteps for every recorded step count: %s',
    (_, table) => {
      for (const [steps, expected] of Object.entries(table.timesteps_by_num_inference_steps)) {
        const actual = timestepsOf[table.scheduler]({
          spacing: table.spacing,
          numInferenceSteps: Number(steps),
          numTrainTimesteps: vectors.schedule.num_train_timesteps,
          stepsOffset: table.steps_offset,
        });
        expect(actual, `${steps} steps`).toEqual(expected.map(Math.fround));
      }
    },
  );

  it('is strictly decreasing and within [0, num_train_timesteps), or refused, for every scheduler and spacing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(timestepsOf) as SchedulerName[])),
        fc.constantFrom<TimestepSpacing>('leading', 'trailing', 'linspace'),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 1 }),
        (scheduler, spacing, numInferenceSteps, stepsOffset) => {
          const numTrainTimesteps = 1000;
          let timesteps: number[];
          try {
            timesteps = timestepsOf[scheduler]({
              spacing,
              numInferenceSteps,
              numTrainTimesteps,
              stepsOffset,
            });
          } catch (error) {
            // The step counts where diffusers' formulas leave [0, T) are refused, not run.
            expect(error).toBeInstanceOf(RangeError);
            return true;
          }
          return (
            timesteps.length === numInferenceSteps &&
            timesteps.every(
              (t, i) => t >= 0 && t < numTrainTimesteps && (i === 0 || t < (timesteps[i - 1] as number)),
            )
          );
        },
      ),
    );
  });

  it('rounds halves to even as numpy does', () => {
    expect([0.5, 1.5, 2.5, -1.5, 499.5, 2.4, 2.6].map(roundHalfToEven)).toEqual([0, 2, 2, -2, 500, 2, 3]);
  });

  it('rejects step counts outside [1, num_train_timesteps]', () => {
    const schedule = { spacing: 'leading' as const, numTrainTimesteps: 1000, stepsOffset: 1 };
    expect(() => discreteTimesteps({ ...schedule, numInferenceSteps: 0 })).toThrow(RangeError);
    expect(() => discreteTimesteps({ ...schedule, numInferenceSteps: 1001 })).toThrow(RangeError);
    expect(() => discreteTimesteps({ ...schedule, numInferenceSteps: 2.5 })).toThrow(RangeError);
  });

  it('refuses the step counts where diffusers itself leaves the training range', () => {
    // diffusers: trailing with 61 steps gives 62 timesteps ending at -1; leading 1000 steps + offset 1 reaches 1000.
    const base = { numTrainTimesteps: 1000, stepsOffset: 1 };
    expect(() => discreteTimesteps({ ...base, spacing: 'trailing', numInferenceSteps: 61 })).toThrow(
      /choose another step count/,
    );
    expect(() => discreteTimesteps({ ...base, spacing: 'leading', numInferenceSteps: 1000 })).toThrow(
      RangeError,
    );
    expect(() => dpmSolverTimesteps({ ...base, spacing: 'leading', numInferenceSteps: 999 })).toThrow(
      RangeError,
    );
    expect(discreteTimesteps({ ...base, spacing: 'trailing', numInferenceSteps: 60 })).toHaveLength(60);
  });
});
