import type { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type ArtifactName, VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import { InvalidRequest, type ResolvedGenerationRequest } from '../contracts/generation-request';
import type { StageName } from '../contracts/queue-names';
import { publishCancel } from '../jobs/cancel-channel';
import type { StoredVideoEvent } from '../jobs/video-events';
import { buildVideoFlow, removeWaitingStageJobs, stageInputs, stagesFor } from '../jobs/video-flow';
import { isTerminalStatus, newVideoRecord, type VideoRecord } from '../jobs/video-record';
import type { VideoStore } from '../jobs/video-store';
import { VideoNotFound } from '../jobs/video-store-errors';
import { videoCancelled, videoFailed } from '../jobs/video-transitions';
import type { ModelFolderManifest } from '../model-folder/manifest';
import type { ArtifactStore } from '../storage/artifact-store';
import type { WebhookKeySettings } from '../webhooks/webhook-settings';
import { checkWebhookUrl, type HostLookup, type WebhookUrlPolicy } from '../webhooks/webhook-url-guard';
import type { VideoWebhookSubscription } from '../jobs/video-store';
import { UnsupportedMediaType, VideoNotCancellable, WebhookNotConfigured } from './api-errors';
import type { CreateVideoRequest } from './http-schemas';
import { listVideosQuerySchema, type VideoAccepted, type VideoList, type VideoResource } from './http-schemas';
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

/** What the event stream yields: a stored event, or a pause long enough to tell the client we are alive. */
export type VideoStreamItem = { kind: 'event'; event: StoredVideoEvent } | { kind: 'keep-alive' };

const DEFAULT_EVENTS_BLOCK_MS = 15_000;
/** events read from the stream per round trip while catching up */
const EVENTS_PAGE = 500;

const isFinalEvent = ({ event }: StoredVideoEvent): boolean => event.type === 'status' && isTerminalStatus(event.status);

export class VideoService {
  private readonly newId: () => string;
  private readonly now: () => Date;
  private readonly eventsBlockMs: number;
  private readonly presign: PresignOptions;

  constructor(private readonly options: VideoServiceOptions) {
    this.newId = options.idGenerator ?? (() => newVideoId());
    this.now = options.now ?? (() => new Date());
    this.eventsBlockMs = options.eventsBlockMs ?? DEFAULT_EVENTS_BLOCK_MS;
    this.presign = { artifacts: options.artifacts, expirySeconds: options.presignExpirySeconds };
  }

  /** Accepts a request: its artifacts and record are written before the flow is added, so a worker always finds them. */
  async submit(owner: string, body: unknown, init?: InitUpload): Promise<VideoAccepted> {
    const { store, artifacts, manifest } = this.options;
    const { request, resolved } = resolveCreateVideoRequest(body, manifest, this.options.drawSeed);
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
      now: this.now(),
    });
    await store.create(record, webhook);
    await this.addFlow(record, resolved, firstInputs);
    return { id, status: record.status, seed: resolved.seed, created_at: record.createdAt, links: videoLinks(id) };
  }

  async get(owner: string, videoId: string): Promise<VideoResource> {
    return videoResource(await this.ownedRecord(owner, videoId), this.presign);
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
      data: await Promise.all(page.videos.map((record) => videoResource(record, this.presign))),
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
    await removeWaitingStageJobs(queues, videoId, updated.record.stages);
    await publishCancel(redis, queuePrefix, videoId);
    return videoResource(updated.record, this.presign);
  }

  /**
   * The video's events after `afterId` (all when undefined): the backlog, then new ones as they
   * are appended, with a keep-alive after each quiet `eventsBlockMs`; ends after the final status
   * event, or when `signal` aborts. Ownership and `afterId` are checked before this resolves, so
   * the caller can still answer an error instead of a stream.
   */
  async events(owner: string, videoId: string, afterId: string | undefined, signal: AbortSignal): Promise<AsyncIterable<VideoStreamItem>> {
    const record = await this.ownedRecord(owner, videoId);
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
    for (;;) {
      for (const event of page) {
        yield { kind: 'event', event };
        lastId = event.id;
        if (isFinalEvent(event)) return;
      }
      if (page.length < EVENTS_PAGE || signal.aborted) break;
      page = await store.readEvents(record.id, { afterId: lastId, count: EVENTS_PAGE });
    }
    // The final status event is appended with the record change it reports: a record that was
    // already final before the backlog was read has it in the backlog, or its stream expired.
    if (isTerminalStatus(record.status)) return;
    while (!signal.aborted) {
      const events = await store.waitForEvents(record.id, {
        afterId: lastId ?? '0-0',
        blockMs: this.eventsBlockMs,
        signal,
      });
      if (signal.aborted) return;
      if (events.length === 0) yield { kind: 'keep-alive' };
      for (const event of events) {
        yield { kind: 'event', event };
        lastId = event.id;
        if (isFinalEvent(event)) return;
      }
    }
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

  private async ownedRecord(owner: string, videoId: string): Promise<VideoRecord> {
    if (!VIDEO_ID_PATTERN.test(videoId)) throw new VideoNotFound(videoId);
    const record = await this.options.store.get(videoId);
    if (record === undefined || record.owner !== owner) throw new VideoNotFound(videoId);
    return record;
  }

  /** Adds the flow; when Redis refuses it, the record says so rather than staying queued for ever. */
  private async addFlow(record: VideoRecord, resolved: ResolvedGenerationRequest, firstInputs: Partial<Record<ArtifactName, string>>) {
    const { flowProducer, attempts, backoffMs, queuePrefix, store } = this.options;
    const flow = buildVideoFlow({ videoId: record.id, stages: record.stages, params: resolved, firstInputs, attempts, backoffMs, queuePrefix });
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
