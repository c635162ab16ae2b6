import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { ArtifactName } from '../../contracts/artifact-keys';
import { resolveGenerationRequest, type GenerationRequest, type ResolvedGenerationRequest } from '../../contracts/generation-request';
import type { StageName } from '../../contracts/queue-names';
import { publishCancel } from '../../jobs/cancel-channel';
import { stageJobId, type StageJobData } from '../../jobs/stage-job';
import { stageInputs, stagesFor } from '../../jobs/video-flow';
import { newVideoRecord, type VideoRecord } from '../../jobs/video-record';
import { VideoStore } from '../../jobs/video-store';
import { videoCancelled } from '../../jobs/video-transitions';
import { manifestSchema, type ModelFolderManifest } from '../../model-folder/manifest';
import { ArtifactStore } from '../../storage/artifact-store';
import { createS3Client } from '../../storage/s3-client';
import { type AppProcess, REPO_ROOT, startAppProcess, waitForHttpStatus } from '../../testing/app-process';
import { findFreePort } from '../../testing/free-port';
import { startTestServices, type TestServices } from '../../testing/test-services';
import { signalProcessTree } from './process-tree';

/**
 * For the stage workers' tests: real Redis and S3 (the test-service harness), stage workers as
 * OS processes started from source, and the pieces a test needs to play the API's part: create
 * a video record, put its input artifacts, add a stage job with BullMQ, cancel.
 */

/** The shipped model folder (the trained `tiny` set) every worker test loads. */
export const SHIPPED_MODELS_DIR = path.join(REPO_ROOT, 'assets/models/magicvideo-shapes');

export interface StageWorkerProcess {
  app: AppProcess;
  /** `http://127.0.0.1:<HEALTH_PORT>` */
  url: string;
}

export interface StageWorkerHarness {
  services: TestServices;
  manifest: ModelFolderManifest;
  redis: Redis;
  store: VideoStore;
  artifacts: ArtifactStore;
  queue(stage: StageName): Queue;
  /** QueueEvents of a stage's queue, listening before it is returned. */
  queueEvents(stage: StageName): Promise<QueueEvents>;
  /** Starts a worker process of the stage on these services; resolves once `/readyz` answers 200. */
  startWorker(stage: StageName, env?: Record<string, string>): Promise<StageWorkerProcess>;
  /** A request with the manifest's defaults, small step counts unless the request says otherwise. */
  resolve(request: GenerationRequest): ResolvedGenerationRequest;
  /** Creates the video's record (its flow's stages from the request) as the API would. */
  createVideo(videoId: string, params: ResolvedGenerationRequest): Promise<VideoRecord>;
  /** The job data of one stage of the video's flow, its inputs as the flow names them. */
  stageJobData(videoId: string, stage: StageName, params: ResolvedGenerationRequest): StageJobData;
  /** Adds a stage job as the flow does (custom id, attempts, exponential backoff). */
  addStageJob(data: StageJobData, options?: { attempts?: number }): Promise<Job>;
  /** SIGKILLs a worker (the node process of the app, not only tsx's) and waits for it to be gone. */
  killWorker(worker: StageWorkerProcess): Promise<void>;
  /** Marks the record cancelled, then publishes the cancel: the API's order. */
  cancel(videoId: string): Promise<void>;
  /** Kills every worker this harness started, closes the clients, removes the test's keys and bucket. */
  stop(): Promise<void>;
}

/** Small step counts so the shared machine stays usable; any test may ask for more. */
const SMALL_STEPS: Partial<GenerationRequest> = { steps: 4, interpSteps: 2, srSteps: 2 };

export async function startStageWorkerHarness(): Promise<StageWorkerHarness> {
  const services = await startTestServices();
  const manifest = manifestSchema.parse(JSON.parse(await readFile(path.join(SHIPPED_MODELS_DIR, 'model_index.json'), 'utf8')));
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: 3 });
  const s3 = createS3Client({
    endpoint: services.s3.endpoint,
    region: services.s3.region,
    credentials: { accessKeyId: services.s3.accessKeyId, secretAccessKey: services.s3.secretAccessKey },
    forcePathStyle: true,
  });
  const artifacts = new ArtifactStore(s3, services.s3.bucket);
  const store = new VideoStore({ redis, prefix: services.queuePrefix, artifacts });
  const queues = new Map<StageName, Queue>();
  const events: QueueEvents[] = [];
  const workers: StageWorkerProcess[] = [];
  const connection = { url: services.redis.url };

  const queue = (stage: StageName): Queue => {
    let existing = queues.get(stage);
    if (existing === undefined) {
      existing = new Queue(stage, { connection, prefix: services.queuePrefix });
      queues.set(stage, existing);
    }
    return existing;
  };

  return {
    services,
    manifest,
    redis,
    store,
    artifacts,
    queue,
    async queueEvents(stage) {
      const listener = new QueueEvents(stage, { connection, prefix: services.queuePrefix });
      events.push(listener);
      await listener.waitUntilReady();
      return listener;
    },
    async startWorker(stage, env = {}) {
      const port = await findFreePort();
      const app = startAppProcess(`apps/worker-${stage}`, {
        ...services.env,
        MODELS_DIR: SHIPPED_MODELS_DIR,
        HEALTH_PORT: String(port),
        NODE_ENV: 'test',
        SHUTDOWN_GRACE_MS: '5000',
        ORT_INTRA_OP_THREADS: '1',
        ...env,
      });
      const worker = { app, url: `http://127.0.0.1:${port}` };
      workers.push(worker);
      try {
        await waitForHttpStatus(`${worker.url}/readyz`, 200, 120_000);
      } catch (error) {
        throw new Error(`worker-${stage} did not become ready: ${(error as Error).message}\n${app.stderr()}\n${app.stdout().slice(-4000)}`);
      }
      return worker;
    },
    resolve: (request) => resolveGenerationRequest({ ...SMALL_STEPS, ...request }, manifest),
    async createVideo(videoId, params) {
      const record = newVideoRecord({ id: videoId, owner: 'test-owner', stages: stagesFor(params), request: params });
      await store.create(record);
      return record;
    },
    stageJobData(videoId, stage, params) {
      const stages = stagesFor(params);
      const inputs: Partial<Record<ArtifactName, string>> = stageInputs(videoId, stage, stages);
      if (stage === 'keyframe' && params.init !== undefined) inputs.init = artifacts.key(videoId, 'init');
      return { videoId, stage, params, inputs, last: stages.at(-1) === stage };
    },
    addStageJob(data, options = {}) {
      return queue(data.stage).add(data.stage, data, {
        jobId: stageJobId(data.videoId, data.stage),
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: 200 },
      });
    },
    async killWorker(worker) {
      await signalProcessTree(worker.app.pid, 'SIGKILL');
      await worker.app.exited;
    },
    async cancel(videoId) {
      await store.update(videoId, (record) => videoCancelled(record, new Date()));
      await publishCancel(redis, services.queuePrefix, videoId);
    },
    async stop() {
      await Promise.all(workers.map(async ({ app }) => signalProcessTree(app.pid, 'SIGKILL')));
      await Promise.all(workers.map(({ app }) => app.exited));
      await Promise.all([...events.map((listener) => listener.close()), ...[...queues.values()].map((open) => open.close())]);
      await redis.quit();
      s3.destroy();
      await services.stop();
    },
  };
}
