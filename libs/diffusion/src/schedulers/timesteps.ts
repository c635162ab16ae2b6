import { f32 } from './float32';

/** How inference timesteps are spread over the training ones (diffusers' `timestep_spacing`; Lin et al. 2023, table 2). */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** `numpy.round`: halves go to the even neighbour. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `numpy.linspace(start, stop, num)` in float64: i·step + start, the last value exactly `stop`. */
function numpyLinspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const step = (stop - start) / div;
  const values = Array.from({ length: num }, (_, i) => (div > 0 ? i * step : i * (stop - start)) + start);
  if (num > 1) values[num - 1] = stop;
  return values;
}

/**
 * `numpy.arange(start, stop, step)` with a float step: length ⌈(stop − start)/step⌉, values
 * start + i·δ where δ = (start + step) − start, exactly as numpy fills the array.
 */
function numpyArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => (i === 0 ? start : start + i * delta));
}

function checkStepCount(numInferenceSteps: number, numTrainTimesteps: number): void {
  if (
    !Number.isInteger(numInferenceSteps) ||
    numInferenceSteps < 1 ||
    numInferenceSteps > numTrainTimesteps
  ) {
    throw new RangeError(
      `numInferenceSteps must be an integer in [1, ${numTrainTimesteps}], got ${numInferenceSteps}`,
    );
  }
}

/** What every `set_timesteps` needs to know. */
export interface TimestepSchedule {
  spacing: TimestepSpacing;
  numInferenceSteps: number;
  numTrainTimesteps: number;
  /** Added to 'leading' timesteps (Stable Diffusion uses 1); the other spacings ignore it. */
  stepsOffset: number;
}

/**
 * diffusers' own formulas go wrong at some step counts: 'trailing' gets one value too many (a
 * float step length rounds up) ending at −1, and 'leading' with steps_offset can reach T. torch
 * would index ᾱ at −1 (wrapping to the end) or fail; this runtime refuses those schedules.
 */
function checkSchedule(timesteps: number[], schedule: TimestepSchedule): number[] {
  const { spacing, numInferenceSteps, numTrainTimesteps, stepsOffset } = schedule;
  const valid =
    timesteps.length === numInferenceSteps &&
    timesteps.every(
      (t, i) => t >= 0 && t < numTrainTimesteps && (i === 0 || t < (timesteps[i - 1] as number)),
    );
  if (!valid) {
    throw new RangeError(
      `'${spacing}' spacing with ${numInferenceSteps} steps (steps_offset ${stepsOffset}) gives timesteps ` +
        `[${timesteps.join(', ')}] outside [0, ${numTrainTimesteps}) or not ${numInferenceSteps} distinct values; choose another step count`,
    );
  }
  return timesteps;
}

/** DDPMScheduler / DDIMScheduler `set_timesteps`: integer timesteps, first the noisiest. */
export function discreteTimesteps(schedule: TimestepSchedule): number[] {
  return checkSchedule(unchecked(schedule), schedule);
}

function unchecked({
  spacing,
  numInferenceSteps,
  numTrainTimesteps,
  stepsOffset,
}: TimestepSchedule): number[] {
  checkStepCount(numInferenceSteps, numTrainTimesteps);
  switch (spacing) {
    case 'linspace':
      return numpyLinspace(0, numTrainTimesteps - 1, numInferenceSteps)
        .map(roundHalfToEven)
        .reverse();
    case 'leading': {
      const stepRatio = Math.floor(numTrainTimesteps / numInferenceSteps);
      return Array.from({ length: numInferenceSteps }, (_, i) => i * stepRatio + stepsOffset).reverse();
    }
    case 'trailing': {
      const stepRatio = numTrainTimesteps / numInferenceSteps;
      return numpyArange(numTrainTimesteps, 0, -stepRatio).map((t) => roundHalfToEven(t) - 1);
    }
  }
}

/**
 * EulerDiscreteScheduler `set_timesteps`: the same spacings, as float32 values; 'linspace' is
 * not rounded, so its timesteps can fall between training steps (999/6 = 166.5).
 */
export function eulerTimesteps(schedule: TimestepSchedule): number[] {
  const { spacing, numInferenceSteps, numTrainTimesteps } = schedule;
  if (spacing !== 'linspace') return discreteTimesteps(schedule);
  checkStepCount(numInferenceSteps, numTrainTimesteps);
  return checkSchedule(
    numpyLinspace(0, numTrainTimesteps - 1, numInferenceSteps)
      .map(f32)
      .reverse(),
    schedule,
  );
}

/**
 * DPMSolverMultistepScheduler `set_timesteps` (lambda_min_clipped = −∞, so the last usable
 * timestep is T): 'linspace' and 'leading' spread n + 1 points and drop the final 0.
 */
export function dpmSolverTimesteps(schedule: TimestepSchedule): number[] {
  return checkSchedule(uncheckedDpmSolver(schedule), schedule);
}

function uncheckedDpmSolver({
  spacing,
  numInferenceSteps,
  numTrainTimesteps,
  stepsOffset,
}: TimestepSchedule): number[] {
  checkStepCount(numInferenceSteps, numTrainTimesteps);
  const lastTimestep = numTrainTimesteps;
  switch (spacing) {
    case 'linspace':
      return numpyLinspace(0, lastTimestep - 1, numInferenceSteps + 1)
        .map(roundHalfToEven)
        .reverse()
        .slice(0, -1);
    case 'leading': {
      const stepRatio = Math.floor(lastTimestep / (numInferenceSteps + 1));
      return Array.from({ length: numInferenceSteps + 1 }, (_, i) => i * stepRatio)
        .reverse()
        .slice(0, -1)
        .map((t) => t + stepsOffset);
    }
    case 'trailing': {
      const stepRatio = numTrainTimesteps / numInferenceSteps;
      return numpyArange(lastTimestep, 0, -stepRatio).map((t) => roundHalfToEven(t) - 1);
    }
  }
}

/** The timestep at `stepIndex`, or a RangeError naming the valid range. */
export function timestepAt(timesteps: readonly number[], stepIndex: number): number {
  const timestep = timesteps[stepIndex];
  if (!Number.isInteger(stepIndex) || timestep === undefined) {
    throw new RangeError(`stepIndex must be an integer in [0, ${timesteps.length - 1}], got ${stepIndex}`);
  }
  return timestep;
}
