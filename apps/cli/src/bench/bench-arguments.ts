import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/**
 * `bench-pipeline.ts [--small-only | --shipped-only] [--steps N] [--repeats N] [--threads N]
 * [--seed N] [--json out.json]`, checked once at start.
 */

export interface BenchArguments {
  shipped: boolean;
  small: boolean;
  /** on `small`: key-frame, interpolation and SR steps, each at most its manifest default */
  smallSteps: number;
  /** repetitions of each compared measurement (medians are reported) */
  repeats: number;
  /** onnxruntime intra-op threads = torch threads */
  threads: number;
  seed: number;
  jsonPath?: string;
}

export const BENCH_DEFAULTS = {
  smallSteps: 3,
  repeats: 3,
  seed: 42,
} as const;

export const BENCH_USAGE =
  'usage: bench-pipeline [--small-only | --shipped-only] [--steps N] [--repeats N] [--threads N] [--seed N] [--json out.json]';

export class BenchUsageError extends Error {
  readonly code = 'BenchUsageError';
  constructor(detail: string) {
    super(`${detail}\n${BENCH_USAGE}`);
    this.name = 'BenchUsageError';
  }
}

export function parseBenchArguments(argv: readonly string[]): BenchArguments {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'small-only': { type: 'boolean', default: false },
        'shipped-only': { type: 'boolean', default: false },
        steps: { type: 'string' },
        repeats: { type: 'string' },
        threads: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values['small-only'] && values['shipped-only']) throw new BenchUsageError('--small-only and --shipped-only exclude each other');
  return {
    shipped: !values['small-only'],
    small: !values['shipped-only'],
    smallSteps: positiveInteger('--steps', values.steps, BENCH_DEFAULTS.smallSteps),
    repeats: positiveInteger('--repeats', values.repeats, BENCH_DEFAULTS.repeats),
    threads: positiveInteger('--threads', values.threads, availableParallelism()),
    seed: nonNegativeInteger('--seed', values.seed, BENCH_DEFAULTS.seed),
    ...(values.json === undefined ? {} : { jsonPath: values.json }),
  };
}

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  const value = nonNegativeInteger(flag, text, fallback);
  if (value < 1) throw new BenchUsageError(`${flag} must be at least 1, got ${text}`);
  return value;
}

function nonNegativeInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new BenchUsageError(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
