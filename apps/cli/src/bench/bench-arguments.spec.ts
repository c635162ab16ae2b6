import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { BENCH_DEFAULTS, BenchUsageError, parseBenchArguments } from './bench-arguments';

describe('parseBenchArguments', () => {
  it('runs both parts with the defaults when given nothing', () => {
    expect(parseBenchArguments([])).toEqual({
      shipped: true,
      small: true,
      smallSteps: BENCH_DEFAULTS.smallSteps,
      repeats: BENCH_DEFAULTS.repeats,
      threads: availableParallelism(),
      seed: BENCH_DEFAULTS.seed,
    });
  });

  it('leaves out the part the flag excludes and reads the numbers and the JSON path', () => {
    expect(parseBenchArguments(['--small-only', '--steps', '2', '--threads', '1', '--json', 'out.json'])).toMatchObject({
      shipped: false,
      small: true,
      smallSteps: 2,
      threads: 1,
      jsonPath: 'out.json',
    });
    expect(parseBenchArguments(['--shipped-only'])).toMatchObject({ shipped: true, small: false });
  });

  it.each([
    [['--small-only', '--shipped-only'], /exclude/],
    [['--steps', '0'], /--steps must be at least 1/],
    [['--repeats', 'two'], /--repeats must be a whole number/],
    [['--fast'], /Unknown option/],
    [['extra'], /positional/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchArguments(argv)).toThrow(BenchUsageError);
    expect(() => parseBenchArguments(argv)).toThrow(message);
  });
});
