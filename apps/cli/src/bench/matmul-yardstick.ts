import { access } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runPythonModule } from './python-module';

/**
 * onnxruntime's own float32 GEMM speed on this machine, the yardstick for the U-Net's achieved
 * FLOP/s: one large MatMul (`magicvideo_models.matmul_model`, weights a constant initializer as
 * the U-Net's are), in this process, with the session options the model folders get (CPU,
 * the same intra-op threads, default graph optimisation).
 */

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

export interface MatmulMeasurement {
  shape: MatmulShape;
  flopsPerRun: number;
  /** seconds of each timed run, in order */
  runSeconds: number[];
  medianGflops: number;
}

const INPUT_NAME = 'activations';

export async function matmulModelPath(repoRoot: string, shape: MatmulShape): Promise<string> {
  const path = join(repoRoot, '.cache', 'bench', `matmul-${shape.m}x${shape.k}x${shape.n}.onnx`);
  try {
    await access(path);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
    await runPythonModule(repoRoot, 'magicvideo_models.matmul_model', [
      '--m',
      String(shape.m),
      '--k',
      String(shape.k),
      '--n',
      String(shape.n),
      '--out',
      path,
    ]);
  }
  return path;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One warm-up run (pre-packing, arena), then `runs` timed runs. */
export async function measureMatmul(
  path: string,
  shape: MatmulShape,
  options: { threads: number; runs: number },
): Promise<MatmulMeasurement> {
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.threads,
  });
  try {
    const activations = new ort.Tensor('float32', new Float32Array(shape.m * shape.k).fill(0.5), [shape.m, shape.k]);
    await session.run({ [INPUT_NAME]: activations });
    const runSeconds: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const started = performance.now();
      await session.run({ [INPUT_NAME]: activations });
      runSeconds.push((performance.now() - started) / 1000);
    }
    const flopsPerRun = 2 * shape.m * shape.k * shape.n;
    return { shape, flopsPerRun, runSeconds, medianGflops: flopsPerRun / median(runSeconds) / 1e9 };
  } finally {
    await session.release();
  }
}
