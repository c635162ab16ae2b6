// `npm run bench:overhead`: the same requests through the distributed stack (API + four worker
// processes, real Redis and S3) and through the in-process pipeline, same model folder, one run,
// rounds interleaved. Prints the ratio and the overhead per stage hop. Figures only (STYLE.md).
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import {
  openModelFolder,
  resolveFfmpegPath,
  resolveGenerationRequest,
  type ResolvedGenerationRequest,
  type StageTimings,
} from '@magicvideo/diffusion';
import { startDistributedStack, type DistributedStack } from '@magicvideo/shared/testing';
import { DEFAULT_MODEL_FOLDER, findPackageRoot } from '../default-model-folder';
import { median } from './matmul-yardstick';
import { ensureSmallModelFolder } from './small-model-folder';
import { TimedModelFolder } from './timed-model-folder';
import { runTimedPipeline } from './timed-pipeline-run';

const USAGE = 'usage: bench-overhead [--config small|shipped] [--rounds N] [--steps N] [--threads N] [--seed N] [--json out.json]';
const PROMPT = 'a red circle moving right';
const STAGES = ['keyframe', 'interp', 'decode', 'sr'] as const;
type Stage = (typeof STAGES)[number];

interface OverheadArguments {
  config: 'small' | 'shipped';
  rounds: number;
  steps: number;
  threads: number;
  seed: number;
  jsonPath?: string;
}

interface DistributedRun {
  /** the record's createdAt (API, on submit) → finishedAt (the last worker) */
  totalMs: number;
  /** what the client saw: POST sent → GET answered succeeded (polled every 10 ms) */
  clientMs: number;
  stageMs: Partial<Record<Stage, number>>;
  waitMs: Partial<Record<Stage, number>>;
}

interface Round {
  inProcessMs: number;
  /** runPipeline's timings folded into the distributed stages' work (the key-frame stage encodes the text; the last one the video) */
  inProcessStageMs: Partial<Record<Stage, number>>;
  distributed: DistributedRun;
}

/** runPipeline's timings, grouped the way the workers split the work. */
function inProcessStages(timings: StageTimings, request: ResolvedGenerationRequest): Partial<Record<Stage, number>> {
  const ms = (...names: (keyof StageTimings)[]) => names.reduce((sum, name) => sum + (timings[name] ?? 0), 0);
  const last = request.superResolution ? 'sr' : 'decode';
  const stages: Partial<Record<Stage, number>> = { keyframe: ms('text', 'init', 'keyframes'), decode: ms('decode') };
  if (request.interpolate) stages.interp = ms('interp', 'preview');
  else stages.decode = ms('decode', 'preview');
  if (request.superResolution) stages.sr = ms('sr');
  stages[last] = (stages[last] ?? 0) + ms('encode');
  return stages;
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

function parseOverheadArguments(argv: readonly string[]): OverheadArguments {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', default: 'small' },
      rounds: { type: 'string', default: '3' },
      steps: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(Math.max(1, availableParallelism())) },
      seed: { type: 'string', default: '42' },
      json: { type: 'string' },
    },
  });
  const positive = (name: string, value: string | undefined): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got ${value}\n${USAGE}`);
    return parsed;
  };
  if (values.config !== 'small' && values.config !== 'shipped') throw new Error(`--config must be small or shipped\n${USAGE}`);
  return {
    config: values.config,
    rounds: positive('rounds', values.rounds),
    steps: positive('steps', values.steps),
    threads: positive('threads', values.threads),
    seed: Number(values.seed),
    ...(values.json === undefined ? {} : { jsonPath: values.json }),
  };
}

/** The HTTP body of a resolved request, so both paths run exactly the same one. */
function httpBody(request: ResolvedGenerationRequest): Record<string, unknown> {
  return {
    prompt: request.prompt,
    negative_prompt: request.negativePrompt,
    seed: request.seed,
    num_inference_steps: request.steps,
    guidance_scale: request.guidanceScale,
    fps: request.fps,
    sampler: request.sampler,
    interpolate: request.interpolate,
    super_resolution: request.superResolution,
    interp_num_inference_steps: request.interpSteps,
    sr_num_inference_steps: request.srSteps,
    output_formats: request.formats,
  };
}

interface StageView {
  state: string;
  wait_ms?: number;
  duration_ms?: number;
}
interface VideoView {
  status: string;
  created_at: string;
  finished_at?: string;
  stages: Partial<Record<Stage, StageView>>;
  error?: { code: string; message: string };
}

async function runDistributed(stack: DistributedStack, request: ResolvedGenerationRequest): Promise<DistributedRun> {
  const headers = { Authorization: stack.authorization, 'Content-Type': 'application/json' };
  const started = performance.now();
  const submitted = await fetch(`${stack.apiUrl}/v1/videos`, { method: 'POST', headers, body: JSON.stringify(httpBody(request)) });
  const accepted = (await submitted.json()) as { id?: string };
  if (submitted.status !== 202 || accepted.id === undefined) throw new Error(`POST /v1/videos answered ${submitted.status}: ${JSON.stringify(accepted)}`);
  for (;;) {
    const answer = await fetch(`${stack.apiUrl}/v1/videos/${accepted.id}`, { headers: { Authorization: stack.authorization } });
    const video = (await answer.json()) as VideoView;
    if (video.status === 'failed' || video.status === 'cancelled') throw new Error(`video ${accepted.id} ${video.status}: ${JSON.stringify(video.error)}`);
    if (video.status === 'succeeded') {
      const clientMs = performance.now() - started;
      const stageMs: DistributedRun['stageMs'] = {};
      const waitMs: DistributedRun['waitMs'] = {};
      for (const stage of STAGES) {
        const view = video.stages[stage];
        if (view?.duration_ms !== undefined) stageMs[stage] = view.duration_ms;
        if (view?.wait_ms !== undefined) waitMs[stage] = view.wait_ms;
      }
      const totalMs = Date.parse(video.finished_at ?? '') - Date.parse(video.created_at);
      return { totalMs, clientMs, stageMs, waitMs };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function report(rounds: Round[], hops: number): Record<string, number> {
  say('| round | in-process ms | distributed ms (record) | client ms | ratio | overhead per hop ms |');
  say('|---:|---:|---:|---:|---:|---:|');
  for (const [index, round] of rounds.entries()) {
    const overhead = (round.distributed.totalMs - round.inProcessMs) / hops;
    say(
      `| ${index + 1} | ${round.inProcessMs.toFixed(0)} | ${round.distributed.totalMs.toFixed(0)} | ${round.distributed.clientMs.toFixed(0)} | ${(round.distributed.totalMs / round.inProcessMs).toFixed(3)} | ${overhead.toFixed(1)} |`,
    );
  }
  const inProcess = median(rounds.map((round) => round.inProcessMs));
  const distributed = median(rounds.map((round) => round.distributed.totalMs));
  const ratio = median(rounds.map((round) => round.distributed.totalMs / round.inProcessMs));
  const perHop = median(rounds.map((round) => (round.distributed.totalMs - round.inProcessMs) / hops));
  say();
  say('stage work, median ms (in process: runPipeline\'s timings grouped as the workers split the work; distributed: the record\'s stage durations, S3 reads and writes included):');
  say('| stage | in-process | distributed | difference |');
  say('|---|---:|---:|---:|');
  for (const stage of STAGES.filter((name) => rounds[0]?.distributed.stageMs[name] !== undefined)) {
    const local = median(rounds.map((round) => round.inProcessStageMs[stage] ?? 0));
    const remote = median(rounds.map((round) => round.distributed.stageMs[stage] ?? 0));
    say(`| ${stage} | ${local.toFixed(0)} | ${remote.toFixed(0)} | ${(remote - local).toFixed(0)} |`);
  }
  say();
  say('queue wait per stage (record: the previous stage\'s end, or the submit, to this stage\'s start), median ms:');
  say(
    STAGES.filter((stage) => rounds[0]?.distributed.waitMs[stage] !== undefined)
      .map((stage) => `${stage} ${median(rounds.map((round) => round.distributed.waitMs[stage] ?? 0)).toFixed(1)}`)
      .join(', '),
  );
  say();
  say(`median: in-process ${inProcess.toFixed(0)} ms, distributed ${distributed.toFixed(0)} ms, ratio ${ratio.toFixed(3)} (goal ≤ 1.05), overhead per hop ${perHop.toFixed(1)} ms over ${hops} hops (goal ≤ 25 ms)`);
  return { inProcessMs: inProcess, distributedMs: distributed, ratio, overheadPerHopMs: perHop };
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseOverheadArguments(argv);
  const repoRoot = await findPackageRoot(process.argv[1] ?? __filename);
  const ffmpegPath = await resolveFfmpegPath();
  const dir = args.config === 'small' ? (await ensureSmallModelFolder(repoRoot, note)).folder : join(repoRoot, DEFAULT_MODEL_FOLDER);
  const folder = new TimedModelFolder(await openModelFolder(dir, { executionProviders: ['cpu'], intraOpNumThreads: args.threads }));
  let stack: DistributedStack | undefined;
  try {
    const { defaults } = folder.manifest;
    const request = resolveGenerationRequest(
      {
        prompt: PROMPT,
        seed: args.seed,
        steps: Math.min(args.steps, defaults.num_inference_steps),
        interpSteps: Math.min(args.steps, defaults.interp_num_inference_steps ?? args.steps),
        srSteps: Math.min(args.steps, defaults.sr_num_inference_steps ?? args.steps),
      },
      folder.manifest,
    );
    const hops = [true, request.interpolate, true, request.superResolution].filter(Boolean).length;
    say(`== bench:overhead on ${relative(repoRoot, dir)} (config ${folder.manifest.config_name}), ${args.rounds} rounds, ${args.threads} threads ==`);
    say(`machine: ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}, load ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    say(`request: steps ${request.steps}/${request.interpSteps}/${request.srSteps}, interpolate ${request.interpolate}, SR ${request.superResolution}, formats ${request.formats.join(',')}`);
    note('starting the distributed stack (API + 4 workers)');
    stack = await startDistributedStack({ modelsDir: dir, env: { LOG_LEVEL: 'warn', ORT_INTRA_OP_THREADS: String(args.threads) } });
    // One warm-up of each path: sessions are created on first use in both.
    note('warm-up: in-process, then distributed');
    await runTimedPipeline(folder, request, { ffmpegPath });
    await runDistributed(stack, request);
    const rounds: Round[] = [];
    for (let round = 0; round < args.rounds; round++) {
      note(`round ${round + 1} of ${args.rounds}`);
      const inProcess = await runTimedPipeline(folder, request, { ffmpegPath });
      const distributed = await runDistributed(stack, request);
      rounds.push({ inProcessMs: inProcess.totalMs, inProcessStageMs: inProcessStages(inProcess.stageMs, request), distributed });
    }
    say();
    const summary = report(rounds, hops);
    if (args.jsonPath !== undefined) {
      await writeFile(args.jsonPath, `${JSON.stringify({ args, request, hops, rounds, summary }, null, 2)}\n`);
      note(`wrote ${args.jsonPath}`);
    }
  } finally {
    await stack?.stop();
    await folder.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench:overhead: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
