/**
 * Test support: the diffusers scheduler vectors (libs/diffusion/test/fixtures/scheduler-vectors.json,
 * written by `python -m magicvideo_models.scheduler_vectors`) and the metric they are compared with.
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { createScheduler, type SchedulerConfig, type SchedulerName } from './scheduler';

export interface VectorStep {
  timestep: number;
  sample: number[];
  scaled_model_input: number[];
  model_output: number[];
  noise: number[] | null;
  prev_sample: number[];
}

export interface VectorCase {
  name: string;
  scheduler: SchedulerName;
  config: SchedulerConfig;
  num_inference_steps: number;
  eta: number;
  timesteps: number[];
  init_noise_sigma: number;
  steps: VectorStep[];
  add_noise: { step_index: number; original: number[]; noise: number[]; noisy: number[] };
}

export interface SchedulerVectors {
  metric: string;
  schedule: { num_train_timesteps: number; beta_start: number; beta_end: number };
  alphas_cumprod: Record<'linear' | 'scaled_linear', number[]>;
  timestep_tables: {
    scheduler: SchedulerName;
    spacing: 'leading' | 'trailing' | 'linspace';
    steps_offset: number;
    timesteps_by_num_inference_steps: Record<string, number[]>;
  }[];
  add_noise: {
    beta_schedule: 'linear' | 'scaled_linear';
    timestep: number;
    original: number[];
    noise: number[];
    noisy: number[];
  }[];
  cases: VectorCase[];
}

const fixturePath = new URL('../../test/fixtures/scheduler-vectors.json', import.meta.url);

export async function loadSchedulerVectors(): Promise<SchedulerVectors> {
  return JSON.parse(await readFile(fixturePath, 'utf8')) as SchedulerVectors;
}

export function casesFor(vectors: SchedulerVectors, scheduler: SchedulerName): VectorCase[] {
  return vectors.cases.filter((c) => c.scheduler === scheduler);
}

/** The fixture's float32 values, exactly (each number is the shortest decimal of a float32). */
export function float32s(values: readonly number[]): Float32Array {
  return Float32Array.from(values);
}

/**
 * The vectors' metric: max_i |actual_i − expected_i| / max(max_i |expected_i|, 1e-6), i.e. the
 * largest error relative to the sample's scale (an elementwise relative error would blow up on
 * entries that happen to be near 0).
 */
export function relativeMaxError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let maxError = 0;
  let scale = 1e-6;
  expected.forEach((e, i) => {
    maxError = Math.max(maxError, Math.abs((actual[i] as number) - e));
    scale = Math.max(scale, Math.abs(e));
  });
  return maxError / scale;
}

/** max_i |a_i − b_i|, for properties whose error scales with the inputs rather than the output. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((worst, x, i) => Math.max(worst, Math.abs(x - (b[i] as number))), 0);
}

/** Tolerance of every step against diffusers; float32 rounding is ~6e-8. */
export const stepTolerance = 1e-6;

/**
 * Replays one recorded diffusers run: same timesteps and init_noise_sigma, and at every step the
 * scaled model input and prev_sample within `stepTolerance`, fed the recorded sample, model
 * output and noise (so each step is checked on diffusers' own inputs, history included).
 */
export function expectRunMatchesDiffusers(vectorCase: VectorCase): void {
  const scheduler = createScheduler(vectorCase.scheduler, vectorCase.config, {
    numInferenceSteps: vectorCase.num_inference_steps,
    eta: vectorCase.eta,
  });
  expect(scheduler.timesteps).toEqual(vectorCase.timesteps.map(Math.fround));
  expect(scheduler.initNoiseSigma).toBe(Math.fround(vectorCase.init_noise_sigma));
  vectorCase.steps.forEach((step, stepIndex) => {
    const where = `${vectorCase.name} step ${stepIndex} (t=${step.timestep})`;
    const sample = float32s(step.sample);
    const scaled = scheduler.scaleModelInput(sample, stepIndex);
    expect(
      relativeMaxError(scaled, float32s(step.scaled_model_input)),
      `${where}: scaled input`,
    ).toBeLessThanOrEqual(stepTolerance);
    const noise = step.noise === null ? undefined : float32s(step.noise);
    const prevSample = scheduler.step(float32s(step.model_output), stepIndex, sample, noise);
    expect(
      relativeMaxError(prevSample, float32s(step.prev_sample)),
      `${where}: prev_sample`,
    ).toBeLessThanOrEqual(stepTolerance);
  });
  const { step_index, original, noise, noisy } = vectorCase.add_noise;
  const noised = scheduler.addNoise(float32s(original), float32s(noise), step_index);
  expect(relativeMaxError(noised, float32s(noisy)), `${vectorCase.name}: addNoise`).toBeLessThanOrEqual(
    stepTolerance,
  );
}
