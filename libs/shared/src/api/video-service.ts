import type { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type ArtifactName, VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import { InvalidRequest, type ResolvedGenerationRequest } from '../contracts/generation-request';
import type { StageName } from '../contracts/queue-names';
import { publishCancel } from '../jobs/cancel-channel';
import { estimateStart, queuePosition } from '../jobs/queue-position';
import { stageJobId } from '../jobs/stage-job';
import { StageDurations, stageWeights } from '../jobs/stage-durations';
import { VideoDeadlines } from '../jobs/video-deadlines';
import type { StoredVideoEvent } from '../jobs/video-events';
import { buildVideoFlow, removeWaitingStageJobs, stageInputs, stagesFor } from '../jobs/video-flow';
import { isTerminalStatus, newVideoRecord, RETRYABLE_STATUSES, type VideoRecord } from '../jobs/video-record';
import type { RetentionPeriods } from '../jobs/video-retention';
import type { VideoStore } from '../jobs/video-store';
import { VideoNotFound } from '../jobs/video-store-errors';
import { videoCancelled, videoFailed, videoRetried } from '../jobs/video-transitions';
import type { ModelFolderManifest } from '../model-folder/manifest';
import type { ArtifactStore } from '../storage/artifact-store';
import type { WebhookKeySettings } from '../webhooks/webhook-settings';
import { checkWebhookUrl, type HostLookup, type WebhookUrlPolicy } from '../webhooks/webhook-url-guard';
import type { VideoWebhookSubscription } from '../jobs/video-store';
import { InvalidPriority, UnsupportedMediaType, VideoExpired, VideoNotCancellable, VideoNotRetryable, WebhookNotConfigured } from './api-errors';
import type { CreateVideoRequest, QueueStanding } from './http-schemas';
import { listVideosQuerySchema, type VideoAccepted, type VideoList, type VideoResource } from './http-schemas';
import { parseCancelAfter } from './job-headers';
import { type InitMedia, sniffInitMedia } from './init-media';
import { newVideoId } from './video-id';
import { type PresignOptions, videoLinks, videoResource } from './video-representation';
import { resolveCreateVideoRequest } from './video-request';

/**
 * The HTTP API's behaviour without the HTTP framework (the Nest controllers are thin shells over
 * it): submit a video (validate, write request.json, create the record, add the BullMQ flow), read
 * and list an owner's videos, cancel one, and follow its events. Another owner's video is answered
 * exactly like a missing one (VideoNotFound), so ids leak nothing.
 */

export interface VideoServiceOptions {
  store: VideoStore;
  artifacts: ArtifactStore;
  flowProducer: FlowProducer;
  /** the stage queues, to remove a cancelled video's waiting jobs */
  queues: Record<StageName, Queue>;
  /** a commands connection, for the cancel channel */
  redis: Redis;
  queuePrefix: string;
  /** the model folder's manifest: requests are checked against it (FPS range, optional stages) */
  manifest: ModelFolderManifest;
  presignExpirySeconds: number;
  /** tries per stage job, the first included */
  attempts: number;
  /** first retry delay of a stage job (exponential) */
  backoffMs: number;
  idGenerator?: () => string;
  /** how long one wait for new events blocks before the stream sends a keep-alive (default 15 s) */
  eventsBlockMs?: number;
  now?: () => Date;
  /** seeds for requests that name none (tests pass a fixed one) */
  drawSeed?: () => number;
  /** webhook subscriptions of new videos; without it a request's webhook_url is refused */
  webhooks?: SubmitWebhookOptions;
  /** priorities and deadlines (issue 15); DEFAULT_JOB_POLICY without it */
  jobPolicy?: JobPolicy;
  /** retention periods, to say when a video's results go (`expires_at`); unknown without them */
  retention?: RetentionPeriods;
  /** how often a queued video's place is re-read for its event stream (default 1000 ms) */
  queuePollMs?: number;
  /** how long a queue's load (running jobs, workers, mean duration) is reused for estimates (default 1000 ms) */
  queueLoadTtlMs?: number;
}

/** Priorities and deadlines of new videos (config PRIORITY_MAX, PRIORITY_MAX_BY_KEY, MAX_DEADLINE_SECONDS). */
export interface JobPolicy {
  maxPriority: number;
  maxPriorityByKey: Readonly<Record<string, number>>;
  maxDeadlineSeconds: number;
}

export const DEFAULT_JOB_POLICY: JobPolicy = { maxPriority: 10, maxPriorityByKey: {}, maxDeadlineSeconds: 86_400 };

/** What a submission's headers ask for (issue 15). */
export interface SubmitHeaders {
  /** the raw `Cancel-After` header */
  cancelAfter?: string;
}

export interface SubmitWebhookOptions {
  /** signing secrets, default URL and filter by API key id */
  keys: Readonly<Record<string, WebhookKeySettings>>;
  policy: WebhookUrlPolicy;
  /** video.progress at most this often per video; 0: never */
  progressIntervalMs: number;
  /** the resolver the URL guard uses (tests pass one) */
  lookup?: HostLookup;
}

/** The uploaded init image or video of an image-to-video, variation or editing request. */
export interface InitUpload {
  bytes: Uint8Array;
}

/**
 * What the event stream yields: a stored event, the queued video's new place (not stored, so it
 * carries no id), or a pause long enough to tell the client we are alive.
 */
export type VideoStreamItem =
  | { kind: 'event'; event: StoredVideoEvent }
  | { kind: 'queue'; videoId: string; at: string; queue: QueueStanding }
  | { kind: 'keep-alive' };

const DEFAULT_EVENTS_BLOCK_MS = 15_000;
const DEFAULT_QUEUE_POLL_MS = 1_000;
const DEFAULT_QUEUE_LOAD_TTL_MS = 1_000;
/** events read from the stream per round trip while catching up */
const EVENTS_PAGE = 500;

const isFinalEvent = ({ event }: StoredVideoEvent): boolean => event.type === 'status' && isTerminalStatus(event.status);

export class VideoService {
  private readonly newId: () => string;
  private readonly now: () => Date;
  private readonly eventsBlockMs: number;
  private readonly presign: PresignOptions;
  private readonly policy: JobPolicy;
  private readonly durations: StageDurations;
  private readonly deadlines: VideoDeadlines;
  private readonly queuePollMs: number;
  private readonly queueLoads = new Map<StageName, { at: number; load: Promise<{ active: number; workers: number; meanDurationMs: number | undefined }> }>();

  constructor(private readonly options: VideoServiceOptions) {
    this.newId = options.idGenerator ?? (() => newVideoId());
    this.now = options.now ?? (() => new Date());
    this.eventsBlockMs = options.eventsBlockMs ?? DEFAULT_EVENTS_BLOCK_MS;
    this.queuePollMs = options.queuePollMs ?? DEFAULT_QUEUE_POLL_MS;
    this.presign = {
      artifacts: options.artifacts,
      expirySeconds: options.presignExpirySeconds,
      ...(options.retention === undefined ? {} : { retention: options.retention }),
    };
    this.policy = options.jobPolicy ?? DEFAULT_JOB_POLICY;
    this.durations = new StageDurations(options.redis, options.queuePrefix);
    this.deadlines = new VideoDeadlines(options.redis, options.queuePrefix);
  }

  /**
   * Accepts a request: its artifacts and record are written before the flow is added, so a worker
   * always finds them; its deadline is indexed before the record exists, so none is ever missed.
   */
  async submit(owner: string, body: unknown, init?: InitUpload, headers: SubmitHeaders = {}): Promise<VideoAccepted> {
    const { store, artifacts, manifest } = this.options;
    const submittedAt = this.now();
    const { request, resolved } = resolveCreateVideoRequest(body, manifest, this.options.drawSeed);
    const priority = this.checkPriority(owner, request.priority);
    const deadlineAt = this.deadlineOf(headers.cancelAfter, submittedAt);
    const initMedia = checkInit(resolved, init);
    const webhook = await this.webhookOf(owner, request);
    const id = this.newId();
    const stages = stagesFor(resolved);
    const firstInputs: Partial<Record<ArtifactName, string>> = {
      ...stageInputs(id, stages[0] ?? 'keyframe', stages),
      request: await artifacts.putJson(id, 'request', resolved),
    };
    if (init !== undefined && initMedia !== undefined) {
      firstInputs.init = await artifacts.putBytes(id, 'init', init.bytes, initMedia.mediaType);
    }
    const record = newVideoRecord({
      id,
      owner,
      stages,
      request: resolved,
      priority,
      deadlineAt,
      stageWeights: stageWeights(stages, await this.durations.means(stages)),
      now: submittedAt,
    });
    await this.deadlines.schedule(id, deadlineAt);
    await store.create(record, webhook);
    await this.addFlow(record, resolved, firstInputs);
    return { id, status: record.status, seed: resolved.seed, created_at: record.createdAt, links: videoLinks(id) };
  }

  async get(owner: string, videoId: string): Promise<VideoResource> {
    const record = await this.liveRecord(owner, videoId);
    return videoResource(record, this.presign, await this.queueStanding(record));
  }

  /**
   * `Prefer: wait`: the video once it has ended, if it ends within `waitMs`; undefined when it is
   * still going then (or `signal` aborts first: the client left, the server stops).
   */
  async waitForEnd(owner: string, videoId: string, waitMs: number, signal: AbortSignal): Promise<VideoResource | undefined> {
    const { store } = this.options;
    const until = Date.now() + waitMs;
    let record = await this.liveRecord(owner, videoId);
    let lastId: string | undefined = (await store.readEvents(videoId)).at(-1)?.id;
    while (!isTerminalStatus(record.status)) {
      const left = until - Date.now();
      if (left <= 0 || signal.aborted) return undefined;
      const events = await store.waitForEvents(videoId, { afterId: lastId ?? '0-0', blockMs: left, signal });
      lastId = events.at(-1)?.id ?? lastId;
      if (!events.some(isFinalEvent)) continue;
      record = await this.liveRecord(owner, videoId);
    }
    return videoResource(record, this.presign);
  }

  /**
   * Runs a failed, cancelled or expired video again under the same id, from its first unfinished
   * stage (stored stage outputs are reused: stages are idempotent), as a new run of its record.
   * `Cancel-After` gives the new run a deadline; without one the server's maximum applies.
   */
  async retry(owner: string, videoId: string, headers: SubmitHeaders = {}): Promise<VideoResource> {
    const { store, artifacts } = this.options;
    const record = await this.liveRecord(owner, videoId);
    if (!RETRYABLE_STATUSES.includes(record.status)) throw new VideoNotRetryable(videoId, record.status);
    const retriedAt = this.now();
    const deadlineAt = this.deadlineOf(headers.cancelAfter, retriedAt);
    await this.deadlines.schedule(videoId, deadlineAt);
    const retried = await store.update(videoId, (current) => videoRetried(current, retriedAt, { deadlineAt }));
    if (retried === null) {
      const latest = (await store.get(videoId)) ?? record;
      if (latest.retention?.expiredAt !== undefined) throw new VideoExpired(videoId, latest.retention.expiredAt);
      throw new VideoNotRetryable(videoId, latest.status);
    }
    const next = retried.record;
    const run = next.runs?.at(-1);
    // a job the previous run left waiting (its stage failed elsewhere) must not run beside the new one
    await removeWaitingStageJobs(this.options.queues, videoId, next.stages, (run?.run ?? 2) - 1);
    const fromStage = run?.fromStage ?? next.stages[0] ?? 'keyframe';
    const firstInputs: Partial<Record<ArtifactName, string>> = stageInputs(videoId, fromStage, next.stages);
    if (fromStage === next.stages[0] && next.request.init !== undefined) firstInputs.init = artifacts.key(videoId, 'init');
    await this.addFlow(next, next.request, firstInputs, { fromStage, run: run?.run ?? 1 });
    return videoResource(next, this.presign, await this.queueStanding(next));
  }

  /** The owner's videos, newest first; `query` is the raw query string's values (limit, cursor, status). */
  async list(owner: string, query: unknown): Promise<VideoList> {
    const parsed = listVideosQuerySchema.safeParse(query ?? {});
    if (!parsed.success) {
      throw new InvalidRequest(
        parsed.error.issues.flatMap((issue) =>
          issue.code === 'unrecognized_keys'
            ? issue.keys.map((key) => ({ field: key, message: 'is not a known query parameter' }))
            : [{ field: issue.path.map(String).join('.') || 'query', message: issue.message }],
        ),
      );
    }
    const { limit, cursor, status } = parsed.data;
    const page = await this.options.store.list(owner, {
      limit,
      ...(cursor === undefined ? {} : { cursor }),
      ...(status === undefined ? {} : { status }),
    });
    return {
      data: await Promise.all(page.videos.map(async (record) => videoResource(record, this.presign, await this.queueStanding(record)))),
      next_cursor: page.nextCursor,
    };
  }

  /**
   * Marks the video cancelled (the flag workers check between steps), removes its stage jobs
   * that have not started, and tells running ones in other processes through the cancel channel.
   */
  async cancel(owner: string, videoId: string): Promise<VideoResource> {
    const { store, queues, redis, queuePrefix } = this.options;
    const record = await this.ownedRecord(owner, videoId);
    if (isTerminalStatus(record.status)) throw new VideoNotCancellable(videoId, record.status);
    const updated = await store.update(videoId, (current) => videoCancelled(current, this.now()));
    if (updated === null) {
      // it finished between the read and the update: report how
      const latest = await store.get(videoId);
      throw new VideoNotCancellable(videoId, latest?.status ?? record.status);
    }
    await removeWaitingStageJobs(queues, videoId, updated.record.stages, updated.record.runs?.at(-1)?.run ?? 1);
    await publishCancel(redis, queuePrefix, videoId);
    return videoResource(updated.record, this.presign);
  }

  /**
   * Where a queued video waits: its run's first stage job's place in that queue, and when it
   * should start. Null when the video is not queued, or its job no longer waits (it is starting).
   */
  async queueStanding(record: VideoRecord): Promise<QueueStanding | null> {
    if (record.status !== 'queued') return null;
    const { redis, queuePrefix } = this.options;
    const run = record.runs?.at(-1);
    const stage = run?.fromStage ?? record.stages[0];
    if (stage === undefined) return null;
    const position = await queuePosition(redis, queuePrefix, stage, stageJobId(record.id, stage, run?.run ?? 1));
    if (position === undefined) return null;
    const { active, workers, meanDurationMs } = await this.queueLoad(stage);
    const start = estimateStart({ position, active, workers, meanDurationMs, now: this.now() });
    return { stage, position, estimated_start_at: start?.toISOString() ?? null };
  }

  /**
   * A stage queue's running jobs, workers and recent mean duration, read at most once per
   * queueLoadTtlMs per stage: every queued video's GET and event stream share one read (the
   * worker count is a CLIENT LIST, too dear to run per client per second).
   */
  private queueLoad(stage: StageName): Promise<{ active: number; workers: number; meanDurationMs: number | undefined }> {
    const cached = this.queueLoads.get(stage);
    if (cached !== undefined && Date.now() - cached.at < (this.options.queueLoadTtlMs ?? DEFAULT_QUEUE_LOAD_TTL_MS)) return cached.load;
    const queue = this.options.queues[stage];
    const load = Promise.all([queue.getActiveCount(), queue.getWorkersCount(), this.durations.means([stage])]).then(([active, workers, means]) => ({
      active,
      workers,
      meanDurationMs: means[stage],
    }));
    this.queueLoads.set(stage, { at: Date.now(), load });
    // a failed read is not cached: the next caller reads again
    load.catch(() => this.queueLoads.delete(stage));
    return load;
  }

  /**
   * The video's events after `afterId` (all when undefined): the backlog, then new ones as they
   * are appended, with a keep-alive after each quiet `eventsBlockMs`; ends after the final status
   * event, or when `signal` aborts. Ownership and `afterId` are checked before this resolves, so
   * the caller can still answer an error instead of a stream.
   */
  async events(owner: string, videoId: string, afterId: string | undefined, signal: AbortSignal): Promise<AsyncIterable<VideoStreamItem>> {
    const record = await this.liveRecord(owner, videoId);
    const firstPage = await this.options.store.readEvents(videoId, { ...(afterId === undefined ? {} : { afterId }), count: EVENTS_PAGE });
    return this.followEvents(record, firstPage, afterId, signal);
  }

  private async *followEvents(
    record: VideoRecord,
    firstPage: StoredVideoEvent[],
    afterId: string | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<VideoStreamItem> {
    const { store } = this.options;
    let lastId = afterId;
    let page = firstPage;
    let status = record.status;
    for (;;) {
      for (const event of page) {
        yield { kind: 'event', event };
        lastId = event.id;
        if (event.event.type === 'status') status = event.event.status;
        // a final status ends the stream, unless a retry queued the video again after it
        if (isFinalEvent(event) && (await this.isLastEvent(record.id, event.id))) return;
      }
      if (page.length < EVENTS_PAGE || signal.aborted) break;
      page = await store.readEvents(record.id, { afterId: lastId, count: EVENTS_PAGE });
    }
    // The final status event is appended with the record change it reports: a record that was
    // already final before the backlog was read has it in the backlog, or its stream expired.
    if (isTerminalStatus(record.status) && isTerminalStatus(status)) return;
    let standing = '';
    let quietSince = Date.now();
    while (!signal.aborted) {
      // while queued, the place is re-read every queuePollMs and sent when it changes
      if (status === 'queued') {
        const latest = await store.get(record.id);
        const queue = latest === undefined ? null : await this.queueStanding(latest);
        const key = queue === null ? '' : `${queue.stage}:${queue.position}:${queue.estimated_start_at ?? ''}`;
        if (queue !== null && key !== standing) {
          yield { kind: 'queue', videoId: record.id, at: this.now().toISOString(), queue };
          quietSince = Date.now();
        }
        standing = key;
      }
      const events = await store.waitForEvents(record.id, {
        afterId: lastId ?? '0-0',
        blockMs: status === 'queued' ? Math.min(this.queuePollMs, this.eventsBlockMs) : this.eventsBlockMs,
        signal,
      });
      if (signal.aborted) return;
      if (events.length === 0 && Date.now() - quietSince >= this.eventsBlockMs) {
        yield { kind: 'keep-alive' };
        quietSince = Date.now();
      }
      for (const event of events) {
        yield { kind: 'event', event };
        quietSince = Date.now();
        lastId = event.id;
        if (event.event.type === 'status') status = event.event.status;
        if (isFinalEvent(event) && (await this.isLastEvent(record.id, event.id))) return;
      }
    }
  }

  /** Whether nothing follows the event in the video's stream (a final status stays final unless a retry came after). */
  private async isLastEvent(videoId: string, eventId: string): Promise<boolean> {
    return (await this.options.store.readEvents(videoId, { afterId: eventId, count: 1 })).length === 0;
  }

  /** Priority within the key's bound (PRIORITY_MAX_BY_KEY, else PRIORITY_MAX); lower ones are always allowed. */
  private checkPriority(owner: string, priority: number | undefined): number {
    const max = this.policy.maxPriorityByKey[owner] ?? this.policy.maxPriority;
    if (priority !== undefined && priority > max) throw new InvalidPriority(`priority may be at most ${max} for this API key, got ${priority}`);
    return priority ?? 0;
  }

  /** The deadline: Cancel-After from the submission (or retry), never past the server's maximum. */
  private deadlineOf(cancelAfter: string | undefined, from: Date): Date {
    const maxMs = this.policy.maxDeadlineSeconds * 1000;
    const afterMs = parseCancelAfter(cancelAfter, maxMs) ?? maxMs;
    return new Date(from.getTime() + afterMs);
  }

  /**
   * The new video's webhook: the request's URL and filter, else the API key's defaults. The URL is
   * checked here (SSRF guard) and again at every delivery; the key must have a secret to sign with.
   */
  private async webhookOf(owner: string, request: CreateVideoRequest): Promise<VideoWebhookSubscription | undefined> {
    const settings = this.options.webhooks;
    const keySettings = settings?.keys[owner];
    const url = request.webhook_url ?? keySettings?.url;
    if (url === undefined) {
      if (request.webhook_events !== undefined) throw new WebhookNotConfigured('webhook_events needs a webhook_url (the request’s or the API key’s)', 'webhook_events');
      return undefined;
    }
    if (settings === undefined || keySettings === undefined || keySettings.secrets.length === 0) {
      throw new WebhookNotConfigured('this API key has no webhook signing secret configured', 'webhook_url');
    }
    await checkWebhookUrl(url, settings.policy, settings.lookup);
    const events = request.webhook_events ?? keySettings.events;
    return { url, ...(events === undefined ? {} : { events }), progressIntervalMs: settings.progressIntervalMs };
  }

  /** The owner's video, unless retention deleted its results (410 VideoExpired, with when). */
  private async liveRecord(owner: string, videoId: string): Promise<VideoRecord> {
    const record = await this.ownedRecord(owner, videoId);
    if (record.retention?.expiredAt !== undefined) throw new VideoExpired(videoId, record.retention.expiredAt);
    return record;
  }

  private async ownedRecord(owner: string, videoId: string): Promise<VideoRecord> {
    if (!VIDEO_ID_PATTERN.test(videoId)) throw new VideoNotFound(videoId);
    const record = await this.options.store.get(videoId);
    if (record === undefined || record.owner !== owner) throw new VideoNotFound(videoId);
    return record;
  }

  /** Adds the flow; when Redis refuses it, the record says so rather than staying queued for ever. */
  private async addFlow(
    record: VideoRecord,
    resolved: ResolvedGenerationRequest,
    firstInputs: Partial<Record<ArtifactName, string>>,
    run: { fromStage?: StageName; run?: number } = {},
  ) {
    const { flowProducer, attempts, backoffMs, queuePrefix, store } = this.options;
    const flow = buildVideoFlow({
      videoId: record.id,
      stages: record.stages,
      ...run,
      priority: record.priority ?? 0,
      params: resolved,
      firstInputs,
      attempts,
      backoffMs,
      queuePrefix,
    });
    try {
      await flowProducer.add(flow);
    } catch (error) {
      const failure = { code: 'EnqueueFailed', message: 'the video could not be queued' };
      try {
        await store.update(record.id, (current) => videoFailed(current, failure, this.now()));
      } catch (updateError) {
        throw new AggregateError([error, updateError], `${failure.message}, and its record could not be marked failed`);
      }
      throw error;
    }
  }
}

/** An init file goes with `init` in the request, and its bytes must be the kind of media `init.source` names. */
function checkInit(resolved: ResolvedGenerationRequest, init: InitUpload | undefined): InitMedia | undefined {
  if (resolved.init === undefined) {
    if (init === undefined) return undefined;
    throw new InvalidRequest([{ field: 'init', message: 'a file was uploaded but the request has no init { source, strength }' }]);
  }
  if (init === undefined) {
    throw new InvalidRequest([{ field: 'init', message: 'init is set, so the init image or video must be uploaded as the multipart part `init`' }]);
  }
  const media = sniffInitMedia(init.bytes);
  if (media === undefined) {
    throw new UnsupportedMediaType('the init upload is none of PNG, JPEG, GIF, WebP, MP4/MOV or WebM/MKV', 'init');
  }
  // an animated GIF is a video as well as an image
  if (media.kind !== resolved.init.source && media.mediaType !== 'image/gif') {
    throw new InvalidRequest([{ field: 'init.source', message: `is ${resolved.init.source}, but the upload is ${media.mediaType}` }]);
  }
  return media;
}
