import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  type SchedulerConfig,
  schedulerNames,
  UnsupportedSchedulerConfig,
} from './scheduler';

const sd1Config: SchedulerConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 1,
  clip_sample: false,
  set_alpha_to_one: false,
};

describe('createScheduler', () => {
  it.each(schedulerNames)(
    'builds %s with its name, the requested step count and a shared ᾱ table',
    (name) => {
      const scheduler = createScheduler(name, sd1Config, { numInferenceSteps: 12 });
      expect(scheduler.name).toBe(name);
      expect(scheduler.timesteps).toHaveLength(12);
      expect(scheduler.alphasCumprod).toHaveLength(1000);
    },
  );

  it('accepts a diffusers scheduler_config.json as is, defaults included', () => {
    const diffusersConfig = {
      _class_name: 'DPMSolverMultistepScheduler',
      ...sd1Config,
      algorithm_type: 'dpmsolver++',
      solver_order: 2,
      solver_type: 'midpoint',
      lower_order_final: true,
      use_karras_sigmas: false,
      final_sigmas_type: 'zero',
      lambda_min_clipped: '-Infinity',
      variance_type: null,
      thresholding: false,
    };
    expect(createScheduler('dpmpp-2m', diffusersConfig, { numInferenceSteps: 20 }).timesteps).toHaveLength(
      20,
    );
  });

  it('refuses options whose arithmetic it does not implement, listing each one', () => {
    const attempt = () =>
      createScheduler(
        'euler',
        { ...sd1Config, use_karras_sigmas: true, beta_schedule: 'squaredcos_cap_v2' as never },
        { numInferenceSteps: 10 },
      );
    expect(attempt).toThrow(UnsupportedSchedulerConfig);
    try {
      attempt();
    } catch (error) {
      expect((error as UnsupportedSchedulerConfig).code).toBe('UnsupportedSchedulerConfig');
      expect((error as UnsupportedSchedulerConfig).issues).toHaveLength(2);
    }
  });

  it('takes eta for ddim only', () => {
    expect(createScheduler('ddim', sd1Config, { numInferenceSteps: 10, eta: 1 }).needsNoise).toBe(true);
    expect(() => createScheduler('euler', sd1Config, { numInferenceSteps: 10, eta: 0.5 })).toThrow(
      /eta applies to ddim only/,
    );
  });

  it('rejects a step index outside the schedule', () => {
    const scheduler = createScheduler('ddim', sd1Config, { numInferenceSteps: 4 });
    const sample = new Float32Array(4);
    expect(() => scheduler.step(sample, 4, sample)).toThrow(RangeError);
    expect(() => scheduler.scaleModelInput(sample, -1)).toThrow(RangeError);
  });

  it('rejects samples of different lengths', () => {
    const scheduler = createScheduler('euler', sd1Config, { numInferenceSteps: 4 });
    expect(() => scheduler.step(new Float32Array(4), 0, new Float32Array(5))).toThrow(/length mismatch/);
  });
});
