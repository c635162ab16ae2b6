import { encodeText, generateKeyframes, type KeyframeOptions } from '@magicvideo/diffusion';
import { measureMatmul, type MatmulMeasurement, type MatmulShape } from './matmul-yardstick';
import type { PytorchKeyframes, PytorchRun } from './pytorch-keyframes';
import type { TimedModelFolder } from './timed-model-folder';

/**
 * The key-frame stage (text encoding, then the sampler's U-Net calls) in onnxruntime-node and in
 * PyTorch eager on the same weights, request and threads, plus onnxruntime's MatMul speed, in
 * rounds. The machine is shared, so each round measures all three back to back, and the order
 * of the two runtimes alternates between rounds: a burst of load hits both, not one.
 */

export interface KeyframeRunFigures {
  textMs: number;
  keyframesMs: number;
  unetCalls: number;
  unetBatch: number;
  unetMs: number;
  /** U-Net FLOPs of the run / U-Net time */
  unetGflops: number;
  /** the first values of the [1, C, F, h, w] latents */
  latentsHead: number[];
}

export interface KeyframeRound {
  order: 'onnxruntime first' | 'pytorch first';
  matmul: MatmulMeasurement;
  onnxruntime: KeyframeRunFigures;
  pytorch: KeyframeRunFigures;
}

export interface KeyframeRequest {
  prompt: string;
  negativePrompt: string;
  options: KeyframeOptions;
}

/** FLOPs of one U-Net call at `batch`, from the counts Python made at batch 1 and 2 (linear in the batch). */
export function unetFlopsPerCall(flopsByBatch: Record<string, number>, batch: number): number {
  const counted = flopsByBatch[String(batch)];
  if (counted !== undefined) return counted;
  const single = flopsByBatch['1'];
  if (single === undefined) throw new Error('no U-Net FLOP count at batch 1');
  return single * batch;
}

async function onnxruntimeRun(
  folder: TimedModelFolder,
  request: KeyframeRequest,
  flopsByBatch: Record<string, number>,
): Promise<KeyframeRunFigures> {
  folder.take();
  const started = performance.now();
  const text = await encodeText(folder, { prompt: request.prompt, negativePrompt: request.negativePrompt });
  const textDone = performance.now();
  const latents = await generateKeyframes(folder, text, request.options);
  const finished = performance.now();
  const unetCalls = folder.take().calls.filter((call) => call.model === 'unet');
  const unetMs = unetCalls.reduce((total, call) => total + call.endMs - call.startMs, 0);
  const flops = unetCalls.reduce((total, call) => total + unetFlopsPerCall(flopsByBatch, call.batch), 0);
  return {
    textMs: textDone - started,
    keyframesMs: finished - textDone,
    unetCalls: unetCalls.length,
    unetBatch: unetCalls[0]?.batch ?? 0,
    unetMs,
    unetGflops: flops / (unetMs / 1000) / 1e9,
    latentsHead: Array.from(latents.data.subarray(0, 16)),
  };
}

function pytorchFigures(run: PytorchRun, flopsByBatch: Record<string, number>): KeyframeRunFigures {
  const flops = run.unet_calls * unetFlopsPerCall(flopsByBatch, run.unet_batch);
  return {
    textMs: run.text_seconds * 1000,
    keyframesMs: run.keyframes_seconds * 1000,
    unetCalls: run.unet_calls,
    unetBatch: run.unet_batch,
    unetMs: run.unet_seconds * 1000,
    unetGflops: flops / run.unet_seconds / 1e9,
    latentsHead: run.latents_head,
  };
}

export async function compareKeyframeRuntimes(
  folder: TimedModelFolder,
  pytorch: PytorchKeyframes,
  request: KeyframeRequest,
  options: { rounds: number; threads: number; matmulPath: string; matmulShape: MatmulShape; matmulRuns: number },
): Promise<KeyframeRound[]> {
  const flopsByBatch = pytorch.setup.unet_flops_per_call;
  // untimed, as PyTorch warms up before its setup record: first runs pay arena growth
  await onnxruntimeRun(folder, request, flopsByBatch);
  const rounds: KeyframeRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const matmul = await measureMatmul(options.matmulPath, options.matmulShape, {
      threads: options.threads,
      runs: options.matmulRuns,
    });
    const onnxruntimeFirst = round % 2 === 0;
    let onnxruntime: KeyframeRunFigures;
    let torch: KeyframeRunFigures;
    if (onnxruntimeFirst) {
      onnxruntime = await onnxruntimeRun(folder, request, flopsByBatch);
      torch = pytorchFigures(await pytorch.run(), flopsByBatch);
    } else {
      torch = pytorchFigures(await pytorch.run(), flopsByBatch);
      onnxruntime = await onnxruntimeRun(folder, request, flopsByBatch);
    }
    rounds.push({ order: onnxruntimeFirst ? 'onnxruntime first' : 'pytorch first', matmul, onnxruntime, pytorch: torch });
  }
  return rounds;
}

/** Largest difference of the two runtimes' first latent values, relative to the largest of them. */
export function latentsDisagreement(a: readonly number[], b: readonly number[]): number {
  const count = Math.min(a.length, b.length);
  if (count === 0) return Number.NaN;
  let scale = 0;
  let difference = 0;
  for (let index = 0; index < count; index++) {
    const x = a[index] as number;
    const y = b[index] as number;
    scale = Math.max(scale, Math.abs(x), Math.abs(y));
    difference = Math.max(difference, Math.abs(x - y));
  }
  return difference / scale;
}
