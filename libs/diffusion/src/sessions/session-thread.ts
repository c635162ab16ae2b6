import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SessionValueMetadata } from '../model-folder/validate-model-folder';
import type { DtypeData, ModelDtype } from './tensor-dtypes';

/**
 * onnxruntime sessions on a worker thread. onnxruntime-node 1.30's `session.run` returns a
 * promise but runs the graph synchronously on the calling thread (its backend calls the native
 * run inside `setImmediate`), so a U-Net call would freeze the event loop: no BullMQ lock
 * renewal, no progress, no cancel event (DESIGN.md §3, "Locks"). Here the sessions live on their
 * own thread and the main thread only posts feeds and receives outputs.
 */

export interface SessionCreateOptions {
  executionProviders: string[];
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** A feed already in the model's dtype. */
export interface TypedFeed {
  type: ModelDtype;
  data: DtypeData;
  dims: readonly number[];
}

/** An output as onnxruntime returned it (float16 as bit patterns). */
export interface RawOutput {
  type: string;
  data: unknown;
  dims: readonly number[];
}

/** One loaded model, whichever thread runs it. */
export interface SessionHandle {
  readonly inputMetadata: readonly SessionValueMetadata[];
  readonly outputMetadata: readonly SessionValueMetadata[];
  run(feeds: Record<string, TypedFeed>): Promise<Record<string, RawOutput>>;
  release(): Promise<void>;
}

type Request =
  | { kind: 'create'; path: string; options: SessionCreateOptions }
  | { kind: 'run'; handle: number; feeds: Record<string, TypedFeed> }
  | { kind: 'release'; handle: number };

type Reply =
  | { id: number; ok: false; error: { name: string; message: string } }
  | {
      id: number;
      ok: true;
      handle?: number;
      inputMetadata?: SessionValueMetadata[];
      outputMetadata?: SessionValueMetadata[];
      outputs?: Record<string, RawOutput>;
    };

/** The worker's code, plain CommonJS so it runs the same from TypeScript sources, tests and esbuild bundles. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.onnxruntimePath);
const sessions = new Map();
let nextHandle = 1;
const minRunMs = workerData.minRunMs;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
// The test knob of SessionThreadOptions.minRunMs: this thread sleeps, the caller's does not.
function holdThreadUntil(deadline) {
  const remaining = deadline - performance.now();
  if (remaining > 0) Atomics.wait(sleeper, 0, 0, remaining);
}
const describe = (values) => values.map((value) =>
  value.isTensor ? { name: value.name, isTensor: true, type: value.type, shape: [...value.shape] } : { name: value.name, isTensor: false });
async function handle(request) {
  if (request.kind === 'create') {
    const session = await ort.InferenceSession.create(request.path, request.options);
    const handle = nextHandle++;
    sessions.set(handle, session);
    return [{ handle, inputMetadata: describe(session.inputMetadata), outputMetadata: describe(session.outputMetadata) }, []];
  }
  const session = sessions.get(request.handle);
  if (session === undefined) throw new Error('session ' + request.handle + ' was released');
  if (request.kind === 'release') {
    sessions.delete(request.handle);
    await session.release();
    return [{}, []];
  }
  const feeds = {};
  for (const [name, feed] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
  const started = performance.now();
  const results = await session.run(feeds);
  if (minRunMs > 0) holdThreadUntil(started + minRunMs);
  const outputs = {};
  const buffers = new Set();
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { type: tensor.type, data: tensor.data, dims: [...tensor.dims] };
    buffers.add(tensor.data.buffer);
  }
  return [{ outputs }, [...buffers]];
}
parentPort.on('message', (request) => {
  handle(request).then(
    ([reply, transfer]) => parentPort.postMessage({ id: request.id, ok: true, ...reply }, transfer),
    (error) => parentPort.postMessage({ id: request.id, ok: false, error: { name: String(error && error.name || 'Error'), message: String(error && error.message || error) } }),
  );
});
`;

/**
 * onnxruntime-node's entry for the worker to load (an eval'd worker would resolve from the cwd):
 * resolved from this file in CommonJS (esbuild app bundles, tsx), else from the entry script.
 * `import.meta` is avoided: the apps are bundled to CommonJS, where it is empty.
 */
function onnxruntimeEntry(): string {
  const from =
    typeof __filename === 'string' ? __filename : (process.argv[1] ?? join(process.cwd(), 'index.js'));
  return createRequire(from).resolve('onnxruntime-node');
}

/** An error raised on the session thread, carried over by name and message. */
export class SessionThreadError extends Error {
  readonly code = 'SessionThreadError';
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface SessionThreadOptions {
  /**
   * Test knob (a simulated slow model): every run takes at least this many milliseconds, by
   * blocking the session thread with Atomics.wait after the graph ran. The calling thread stays
   * free, exactly as with a slow real model; the workers' lock test uses it to make one model
   * call outlast BullMQ's lockDuration. 0 or unset in production.
   */
  minRunMs?: number;
}

/** One worker thread holding any number of sessions; runs are queued on it in call order. */
export class SessionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Reply & { ok: true }) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(options: SessionThreadOptions = {}) {
    const minRunMs = options.minRunMs ?? 0;
    if (!(Number.isFinite(minRunMs) && minRunMs >= 0)) {
      throw new RangeError(`minRunMs must be a non-negative number of milliseconds, got ${minRunMs}`);
    }
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { onnxruntimePath: onnxruntimeEntry(), minRunMs },
    });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (exitCode) =>
      this.fail(new SessionThreadError('SessionThreadExited', `session thread exited (code ${exitCode})`)),
    );
  }

  async createSession(path: string, options: SessionCreateOptions): Promise<SessionHandle> {
    const reply = await this.request({ kind: 'create', path, options });
    const handle = reply.handle as number;
    return {
      inputMetadata: reply.inputMetadata ?? [],
      outputMetadata: reply.outputMetadata ?? [],
      run: async (feeds) => (await this.request({ kind: 'run', handle, feeds })).outputs ?? {},
      release: async () => {
        await this.request({ kind: 'release', handle });
      },
    };
  }

  /** Stops the thread; its sessions go with it. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private request(request: Request): Promise<Reply & { ok: true }> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // a request in flight keeps the process alive; an idle thread does not
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, ...request });
    });
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply);
    else waiter.reject(new SessionThreadError(reply.error.name, reply.error.message));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
