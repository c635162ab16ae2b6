import type { PipelineStage, ResolvedGenerationRequest } from '@magicvideo/diffusion';
import { latentsDisagreement, type KeyframeRound } from './keyframe-comparison';
import { median } from './matmul-yardstick';
import { modelMs, type StageBreakdown } from './stage-breakdown';
import type { PipelineMeasurement } from './timed-pipeline-run';

/** The benchmark's tables: plain text, one row per stage, figures as measured (medians where repeated). */

const STAGE_ORDER: readonly PipelineStage[] = ['text', 'init', 'keyframes', 'interp', 'preview', 'decode', 'sr', 'encode'];

export const GOALS = {
  /** the whole default 61-frame video with SR, shipped folder */
  shippedTotalSeconds: 30,
  /** U-Net achieved FLOP/s ÷ onnxruntime's MatMul FLOP/s */
  unetMatmulRatio: 0.5,
  /** PyTorch eager key-frame time ÷ onnxruntime-node's */
  onnxruntimeSpeedup: 1.5,
} as const;

export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

const ms = (value: number | undefined) => (value === undefined ? '' : `${Math.round(value)}`);
const seconds = (valueMs: number) => `${(valueMs / 1000).toFixed(1)} s`;

function describeUses(breakdown: StageBreakdown | undefined): string {
  return (breakdown?.uses ?? [])
    .map((use) => `${use.model} ${use.calls}×b${use.batches.join('/')} @ ${(use.totalMs / use.calls).toFixed(0)} ms`)
    .join(', ');
}

export function describeRequest(request: ResolvedGenerationRequest): string {
  const stages = [
    `${request.steps} key-frame steps (${request.sampler}, guidance ${request.guidanceScale}, fps ${request.fps})`,
    request.interpolate ? `interpolation ${request.interpSteps} steps` : 'no interpolation',
    request.superResolution ? `SR ${request.srSteps} steps (noise level ${request.srNoiseLevel})` : 'no SR',
    request.formats.join('+'),
  ];
  return `seed ${request.seed}: ${stages.join(', ')}`;
}

/**
 * Stage times of `runs` (the first is reported on its own: on the shipped folder it is what one
 * `magicvideo generate` pays, sessions created on first use, and their load times), the later
 * runs' medians, and where each stage's time goes in the last run: model calls × ms per call,
 * and the rest (the sampler's arithmetic, noise, resizing, conversions, posting to the session
 * thread).
 */
export function pipelineTable(runs: readonly PipelineMeasurement[], firstLabel: string): string {
  const [first] = runs;
  if (first === undefined) return '(no run)';
  const later = runs.slice(1);
  const last = runs[runs.length - 1] as PipelineMeasurement;
  const lastLabel = later.length > 0 ? 'last run' : 'this run';
  const header = [
    'stage',
    `${firstLabel} ms`,
    ...(later.length > 0 ? [`median of next ${later.length} ms`] : []),
    `${firstLabel}: session loads ms`,
    `model ms (${lastLabel})`,
    `other ms (${lastLabel})`,
    `model calls (${lastLabel})`,
  ];
  const rows: string[][] = [header];
  const stages = STAGE_ORDER.filter((stage) => first.stageMs[stage] !== undefined);
  for (const stage of stages) {
    const stageMs = last.stageMs[stage] ?? 0;
    const breakdown = last.modelUse[stage];
    const inModels = modelMs(breakdown);
    const loading = breakdown?.sessionLoadMs ?? 0;
    const firstLoading = first.modelUse[stage]?.sessionLoadMs ?? 0;
    rows.push([
      stage,
      ms(first.stageMs[stage]),
      ...(later.length > 0 ? [ms(median(later.map((run) => run.stageMs[stage] ?? 0)))] : []),
      firstLoading >= 1 ? ms(firstLoading) : '',
      inModels > 0 ? ms(inModels) : '',
      inModels > 0 ? ms(stageMs - inModels - loading) : '',
      describeUses(breakdown),
    ]);
  }
  const outsideStages = (run: PipelineMeasurement) => run.totalMs - stages.reduce((total, stage) => total + (run.stageMs[stage] ?? 0), 0);
  rows.push([
    'artifacts between stages',
    ms(outsideStages(first)),
    ...(later.length > 0 ? [ms(median(later.map(outsideStages)))] : []),
    '',
    '',
    '',
    '',
  ]);
  rows.push(['total', ms(first.totalMs), ...(later.length > 0 ? [ms(median(later.map((run) => run.totalMs)))] : []), '', '', '', '']);
  return table(rows);
}

export function sessionLoadsLine(run: PipelineMeasurement): string {
  const loads = run.sessionLoads.map((load) => ({ model: load.model, ms: load.endMs - load.startMs })).filter((load) => load.ms >= 1);
  if (loads.length === 0) return 'session loads during the run: none (sessions already made)';
  const total = loads.reduce((sum, load) => sum + load.ms, 0);
  return `sessions created on first use (inside the first run's stage times): ${loads.map((load) => `${load.model} ${Math.round(load.ms)} ms`).join(', ')} (${Math.round(total)} ms)`;
}

export interface KeyframeSummary {
  rounds: number;
  steps: number;
  unetCalls: number;
  unetBatch: number;
  unetGflopsPerCall: number;
  matmulGflops: number;
  onnxruntime: { textMs: number; keyframesMs: number; unetMsPerCall: number; unetGflops: number };
  pytorch: { textMs: number; keyframesMs: number; unetMsPerCall: number; unetGflops: number };
  /** U-Net achieved FLOP/s in onnxruntime-node ÷ onnxruntime's MatMul FLOP/s, median over rounds */
  unetToMatmul: number;
  /** PyTorch key-frame stage time ÷ onnxruntime-node's, median over rounds */
  onnxruntimeSpeedup: number;
  /** relative difference of the two runtimes' first latent values (they sample the same thing) */
  latentsDisagreement: number;
}

export function summariseKeyframes(rounds: readonly KeyframeRound[], unetGflopsPerCall: number, steps: number): KeyframeSummary {
  const med = (pick: (round: KeyframeRound) => number) => median(rounds.map(pick));
  const side = (key: 'onnxruntime' | 'pytorch') => ({
    textMs: med((round) => round[key].textMs),
    keyframesMs: med((round) => round[key].keyframesMs),
    unetMsPerCall: med((round) => round[key].unetMs / round[key].unetCalls),
    unetGflops: med((round) => round[key].unetGflops),
  });
  const first = rounds[0];
  if (first === undefined) throw new RangeError('no key-frame rounds to summarise');
  return {
    rounds: rounds.length,
    steps,
    unetCalls: first.onnxruntime.unetCalls,
    unetBatch: first.onnxruntime.unetBatch,
    unetGflopsPerCall,
    matmulGflops: med((round) => round.matmul.medianGflops),
    onnxruntime: side('onnxruntime'),
    pytorch: side('pytorch'),
    unetToMatmul: med((round) => round.onnxruntime.unetGflops / round.matmul.medianGflops),
    onnxruntimeSpeedup: med((round) => round.pytorch.keyframesMs / round.onnxruntime.keyframesMs),
    latentsDisagreement: Math.max(...rounds.map((round) => latentsDisagreement(round.onnxruntime.latentsHead, round.pytorch.latentsHead))),
  };
}

const verdict = (met: boolean) => (met ? 'goal met' : 'goal NOT met');

export function keyframeTable(summary: KeyframeSummary, matmulShape: string): string {
  const { onnxruntime: ort, pytorch: torch } = summary;
  const rows = [
    ['key-frame stage (median of ' + summary.rounds + ')', 'onnxruntime-node', 'PyTorch eager'],
    ['text encoder ms', ms(ort.textMs), ms(torch.textMs)],
    ['key frames ms', ms(ort.keyframesMs), ms(torch.keyframesMs)],
    [`U-Net ms per call (${summary.unetCalls} calls, batch ${summary.unetBatch})`, ort.unetMsPerCall.toFixed(0), torch.unetMsPerCall.toFixed(0)],
    ['U-Net achieved GFLOP/s', ort.unetGflops.toFixed(1), torch.unetGflops.toFixed(1)],
    ['sampler outside the U-Net ms', ms(ort.keyframesMs - ort.unetMsPerCall * summary.unetCalls), ms(torch.keyframesMs - torch.unetMsPerCall * summary.unetCalls)],
  ];
  return [
    table(rows),
    `U-Net: ${summary.unetGflopsPerCall.toFixed(2)} GFLOP per call (info.py count: matmuls and convolutions).`,
    `onnxruntime MatMul ${matmulShape}: ${summary.matmulGflops.toFixed(1)} GFLOP/s`,
    `U-Net / MatMul FLOP/s: ${summary.unetToMatmul.toFixed(3)} (goal ≥ ${GOALS.unetMatmulRatio}: ${verdict(summary.unetToMatmul >= GOALS.unetMatmulRatio)})`,
    `onnxruntime-node vs PyTorch eager, key-frame stage: ${summary.onnxruntimeSpeedup.toFixed(2)}× faster (goal ≥ ${GOALS.onnxruntimeSpeedup}×: ${verdict(summary.onnxruntimeSpeedup >= GOALS.onnxruntimeSpeedup)})`,
    `same computation check: first latent values agree to ${summary.latentsDisagreement.toExponential(1)} (relative)`,
  ].join('\n');
}

export function shippedGoalLine(endToEndMs: number, warmMs: number | undefined): string {
  const goalMs = GOALS.shippedTotalSeconds * 1000;
  const warm = warmMs === undefined ? '' : `; warm median ${seconds(warmMs)}`;
  return `whole video, open + first run: ${seconds(endToEndMs)} (goal ≤ ${GOALS.shippedTotalSeconds} s: ${verdict(endToEndMs <= goalMs)})${warm}`;
}
