// `npm run bench:pipeline`: where the time of a generation goes, on the shipped folder and on the
// `small` config, against onnxruntime's own MatMul speed and PyTorch eager. Figures only; nothing
// here asserts on time (STYLE.md, Tests).
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  openModelFolder,
  resolveFfmpegPath,
  resolveGenerationRequest,
  type ModelFolder,
  type ModelName,
  type ResolvedGenerationRequest,
} from '@magicvideo/diffusion';
import { DEFAULT_MODEL_FOLDER, findPackageRoot } from '../default-model-folder';
import { BenchUsageError, parseBenchArguments, type BenchArguments } from './bench-arguments';
import {
  describeRequest,
  keyframeTable,
  pipelineTable,
  sessionLoadsLine,
  shippedGoalLine,
  summariseKeyframes,
  type KeyframeSummary,
} from './bench-report';
import { compareKeyframeRuntimes, unetFlopsPerCall, type KeyframeRound } from './keyframe-comparison';
import { matmulModelPath, median, type MatmulShape } from './matmul-yardstick';
import { PytorchKeyframes, type PytorchSetup } from './pytorch-keyframes';
import { ensureSmallModelFolder, SMALL_WEIGHTS_SEED } from './small-model-folder';
import { TimedModelFolder } from './timed-model-folder';
import { runTimedPipeline, type PipelineMeasurement } from './timed-pipeline-run';

const PROMPT = 'a red circle moving right';
/** [1024, 1024] × [1024, 1024]: large enough that onnxruntime's GEMM runs at its best. */
const MATMUL_SHAPE: MatmulShape = { m: 1024, k: 1024, n: 1024 };
const MATMUL_RUNS = 10;

interface ShippedResult {
  folder: string;
  config: string;
  request: ResolvedGenerationRequest;
  openMs: number;
  /** the first run creates its sessions as `magicvideo generate` does; the others reuse them */
  runs: PipelineMeasurement[];
}

interface SmallResult {
  folder: string;
  exportedMs?: number;
  request: ResolvedGenerationRequest;
  sessionLoadMs: Partial<Record<ModelName, number>>;
  pipeline: PipelineMeasurement;
  pytorch: PytorchSetup;
  matmulShape: MatmulShape;
  keyframeRounds: KeyframeRound[];
  keyframes: KeyframeSummary;
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

async function openTimed(dir: string, threads: number): Promise<{ folder: TimedModelFolder; openMs: number }> {
  const started = performance.now();
  const folder = await openModelFolder(dir, { executionProviders: ['cpu'], intraOpNumThreads: threads });
  return { folder: new TimedModelFolder(folder), openMs: performance.now() - started };
}

async function benchShipped(repoRoot: string, args: BenchArguments, ffmpegPath: string): Promise<ShippedResult> {
  const dir = join(repoRoot, DEFAULT_MODEL_FOLDER);
  const { folder, openMs } = await openTimed(dir, args.threads);
  try {
    // the manifest's defaults, as `magicvideo generate "<prompt>" --seed N` resolves them
    const request = resolveGenerationRequest({ prompt: PROMPT, seed: args.seed }, folder.manifest);
    say(`== shipped folder ${DEFAULT_MODEL_FOLDER} (config ${folder.manifest.config_name}): the default generate ==`);
    say(describeRequest(request));
    const runs: PipelineMeasurement[] = [];
    for (let run = 0; run < args.repeats; run++) {
      note(`shipped: run ${run + 1} of ${args.repeats}`);
      runs.push(await runTimedPipeline(folder, request, { ffmpegPath }));
    }
    const first = runs[0] as PipelineMeasurement;
    const { frameCount, width, height, fps } = first.video;
    say(`video: ${frameCount} frames, ${width}×${height}, ${fps} fps; folder opened in ${Math.round(openMs)} ms (text encoder session, tokenizer, checks)`);
    say(pipelineTable(runs, 'first run'));
    say(sessionLoadsLine(first));
    const warm = runs.length > 1 ? median(runs.slice(1).map((run) => run.totalMs)) : undefined;
    say(shippedGoalLine(openMs + first.totalMs, warm));
    return { folder: relative(repoRoot, dir), config: folder.manifest.config_name, request, openMs, runs };
  } finally {
    await folder.close();
  }
}

/** Creates every session of the folder before the timed runs, so stage times are inference only. */
async function loadAllSessions(folder: ModelFolder): Promise<Partial<Record<ModelName, number>>> {
  const loads: Partial<Record<ModelName, number>> = {};
  for (const name of Object.keys(folder.manifest.models) as ModelName[]) {
    const started = performance.now();
    await folder.runner(name);
    loads[name] = performance.now() - started;
  }
  return loads;
}

async function benchSmall(repoRoot: string, args: BenchArguments, ffmpegPath: string): Promise<SmallResult> {
  const { folder: dir, exportedMs } = await ensureSmallModelFolder(repoRoot, note);
  const matmulPath = await matmulModelPath(repoRoot, MATMUL_SHAPE);
  const { folder } = await openTimed(dir, args.threads);
  let pytorch: PytorchKeyframes | undefined;
  try {
    const { defaults } = folder.manifest;
    const request = resolveGenerationRequest(
      {
        prompt: PROMPT,
        seed: args.seed,
        steps: Math.min(args.smallSteps, defaults.num_inference_steps),
        interpSteps: Math.min(args.smallSteps, defaults.interp_num_inference_steps ?? args.smallSteps),
        srSteps: Math.min(args.smallSteps, defaults.sr_num_inference_steps ?? args.smallSteps),
      },
      folder.manifest,
    );
    say();
    say(`== small config (${relative(repoRoot, dir)}, weights seed ${SMALL_WEIGHTS_SEED}) ==`);
    say(`ran: ${describeRequest(request)} (--steps ${args.smallSteps}; manifest defaults ${defaults.num_inference_steps}/${defaults.interp_num_inference_steps}/${defaults.sr_num_inference_steps})`);
    // sessions first, so no timed figure holds a session load; the key-frame comparison before the
    // pipeline run, so a failing later stage still leaves the comparison's figures
    note('small: creating sessions');
    const sessionLoadMs = await loadAllSessions(folder);
    note('small: starting PyTorch (builds the models, counts FLOPs)');
    pytorch = await PytorchKeyframes.start(repoRoot, {
      models: dir,
      weightsSeed: SMALL_WEIGHTS_SEED,
      threads: args.threads,
      request: {
        prompt: request.prompt,
        negativePrompt: request.negativePrompt,
        seed: request.seed,
        steps: request.steps,
        guidanceScale: request.guidanceScale,
        sampler: request.sampler,
        fps: request.fps,
      },
    });
    note(`small: ${args.repeats} interleaved rounds of MatMul, onnxruntime-node and PyTorch key frames`);
    const keyframeRounds = await compareKeyframeRuntimes(
      folder,
      pytorch,
      {
        prompt: request.prompt,
        negativePrompt: request.negativePrompt,
        options: { seed: request.seed, steps: request.steps, guidanceScale: request.guidanceScale, sampler: request.sampler, fps: request.fps },
      },
      { rounds: args.repeats, threads: args.threads, matmulPath, matmulShape: MATMUL_SHAPE, matmulRuns: MATMUL_RUNS },
    );
    const batch = keyframeRounds[0]?.onnxruntime.unetBatch ?? 1;
    const gflopsPerCall = unetFlopsPerCall(pytorch.setup.unet_flops_per_call, batch) / 1e9;
    const keyframes = summariseKeyframes(keyframeRounds, gflopsPerCall, request.steps);
    say();
    say(`key-frame stage, onnxruntime-node vs PyTorch ${pytorch.setup.torch_version} eager (${args.threads} threads each, same weights, request and seed; rounds interleaved)`);
    say(keyframeTable(keyframes, `[${MATMUL_SHAPE.m}, ${MATMUL_SHAPE.k}] × [${MATMUL_SHAPE.k}, ${MATMUL_SHAPE.n}]`));
    say();
    const pytorchSetup = pytorch.setup;
    await pytorch.close();
    pytorch = undefined;
    note('small: pipeline run');
    const pipeline = await runTimedPipeline(folder, request, { ffmpegPath });
    const { frameCount, width, height, fps } = pipeline.video;
    say(`video: ${frameCount} frames, ${width}×${height}, ${fps} fps; sessions created beforehand (${Object.entries(sessionLoadMs).map(([name, loadMs]) => `${name} ${Math.round(loadMs)} ms`).join(', ')})`);
    say(pipelineTable([pipeline], 'run'));
    return {
      folder: relative(repoRoot, dir),
      ...(exportedMs === undefined ? {} : { exportedMs }),
      request,
      sessionLoadMs,
      pipeline,
      pytorch: pytorchSetup,
      matmulShape: MATMUL_SHAPE,
      keyframeRounds,
      keyframes,
    };
  } finally {
    await pytorch?.close();
    await folder.close();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseBenchArguments(argv);
  const repoRoot = await findPackageRoot(process.argv[1] ?? __filename);
  const ffmpegPath = await resolveFfmpegPath();
  const started = performance.now();
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg(),
    node: process.version,
    onnxruntimeNode: ort.env.versions.node ?? 'unknown',
    threads: args.threads,
  };
  say(`MagicVideo pipeline benchmark: onnxruntime-node ${machine.onnxruntimeNode} (CPU, ${args.threads} intra-op threads), Node ${machine.node}`);
  say(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), load average ${machine.loadAverageAtStart.map((load) => load.toFixed(2)).join(' ')} at start; medians of ${args.repeats} where repeated`);
  say();
  const shipped = args.shipped ? await benchShipped(repoRoot, args, ffmpegPath) : undefined;
  const small = args.small ? await benchSmall(repoRoot, args, ffmpegPath) : undefined;
  const benchMs = performance.now() - started;
  say();
  say(`benchmark took ${(benchMs / 1000).toFixed(0)} s; load average ${loadavg().map((load) => load.toFixed(2)).join(' ')} at the end`);
  if (args.jsonPath !== undefined) {
    await writeFile(args.jsonPath, `${JSON.stringify({ machine, args, shipped, small, benchMs }, null, 2)}\n`);
    say(`wrote ${args.jsonPath}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench-pipeline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof BenchUsageError ? 2 : 1;
});
