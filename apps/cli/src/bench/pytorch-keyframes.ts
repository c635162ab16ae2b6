import { createInterface } from 'node:readline';
import { lastLines, PythonModuleFailed, spawnPythonModule } from './python-module';

/**
 * The key-frame stage in PyTorch eager (`python -m magicvideo_models.bench_keyframes`), kept as
 * one process that runs once per request, so the benchmark can interleave its runs with
 * onnxruntime-node's and neither pays model building more than once.
 */

const MODULE = 'magicvideo_models.bench_keyframes';

export interface PytorchKeyframeRequest {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  sampler: string;
  fps: number;
}

/** bench_keyframes' `setup` record. */
export interface PytorchSetup {
  config: string;
  threads: number;
  torch_version: string;
  latent_shape: number[];
  /** FLOPs of one U-Net forward by batch size ("1", "2"), counted by info.py */
  unet_flops_per_call: Record<string, number>;
}

/** bench_keyframes' `run` record. */
export interface PytorchRun {
  text_seconds: number;
  keyframes_seconds: number;
  unet_seconds: number;
  unet_calls: number;
  unet_batch: number;
  seconds_per_unet_call: number;
  latents_head: number[];
  latents_rms: number;
}

export class PytorchKeyframes {
  private constructor(
    private readonly next: () => Promise<Record<string, unknown>>,
    private readonly send: (line: string) => void,
    private readonly finish: () => Promise<void>,
    readonly setup: PytorchSetup,
  ) {}

  static async start(
    repoRoot: string,
    options: { models: string; weightsSeed: number; threads: number; request: PytorchKeyframeRequest },
  ): Promise<PytorchKeyframes> {
    const { request } = options;
    const child = spawnPythonModule(repoRoot, MODULE, [
      '--models',
      options.models,
      '--weights-seed',
      String(options.weightsSeed),
      '--threads',
      String(options.threads),
      '--prompt',
      request.prompt,
      '--negative-prompt',
      request.negativePrompt,
      '--seed',
      String(request.seed),
      '--steps',
      String(request.steps),
      '--guidance-scale',
      String(request.guidanceScale),
      '--sampler',
      request.sampler,
      '--fps',
      String(request.fps),
      '--on-request',
    ]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const line = await lines.next();
      if (line.done === true) {
        const exitCode = await exited;
        throw new PythonModuleFailed(MODULE, `exit code ${exitCode} before its next record: ${lastLines(stderr)}`);
      }
      return JSON.parse(line.value) as Record<string, unknown>;
    };
    const finish = async () => {
      child.stdin.end();
      const exitCode = await exited;
      if (exitCode !== 0) throw new PythonModuleFailed(MODULE, `exit code ${exitCode}: ${lastLines(stderr)}`);
    };
    const setup = await next();
    if (setup['kind'] !== 'setup') throw new PythonModuleFailed(MODULE, `first record is ${String(setup['kind'])}, not setup`);
    return new PytorchKeyframes(next, (line) => child.stdin.write(line), finish, setup as unknown as PytorchSetup);
  }

  /** One text + key-frame run in the Python process. */
  async run(): Promise<PytorchRun> {
    this.send('run\n');
    const record = await this.next();
    if (record['kind'] !== 'run') throw new PythonModuleFailed(MODULE, `expected a run record, got ${String(record['kind'])}`);
    return record as unknown as PytorchRun;
  }

  /** Ends the process (stdin closed) and waits for it. */
  close(): Promise<void> {
    return this.finish();
  }
}
