import type { Redis } from 'ioredis';
import { assertVideoId, VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import type { ArtifactStore } from '../storage/artifact-store';
import { RedisScript } from '../redis/redis-script';
import { webhookEventTypeOf, type WebhookEventType } from '../webhooks/webhook-events';
import { webhookOutboxKey } from '../webhooks/webhook-outbox-entry';
import { videoEventSchema, type StoredVideoEvent, type VideoEvent } from './video-events';
import { decodeListCursor, encodeListCursor, isAfterPosition, type VideoListPosition } from './video-list-cursor';
import { isTerminalStatus, videoRecordSchema, type VideoRecord, type VideoStatus } from './video-record';
import { CorruptVideoData, InvalidEventId, VideoAlreadyExists, VideoNotFound, VideoUpdateConflict } from './video-store-errors';
import type { VideoTransitionResult } from './video-transitions';

export interface VideoStoreOptions {
  /** an ioredis commands connection (shared with the rest of the process) */
  redis: Redis;
  /** the queue prefix, e.g. `{mv}`: every key starts with it, so they share its hash tag */
  prefix: string;
  artifacts: ArtifactStore;
  /** seconds a terminal record stays in Redis (default 7 days); job.json on S3 serves it after */
  terminalTtlSeconds?: number;
  /** events kept per video stream (XADD MAXLEN ~), default 10000 */
  maxEvents?: number;
}

/** The two parts of an ended video the retention sweeper deletes, each after its own period (issue 15). */
export type RetentionPart = 'intermediates' | 'results';

/** Where a video's webhook events go (issue 6): fixed when the video is created. */
export interface VideoWebhookSubscription {
  url: string;
  /** only these types; every type when absent */
  events?: readonly WebhookEventType[];
  /** `video.progress` at most once per this many ms; never when 0 or absent */
  progressIntervalMs?: number;
}

export interface VideoListOptions {
  /** 1..100 */
  limit: number;
  cursor?: string;
  status?: VideoStatus;
}

const DEFAULT_TERMINAL_TTL_SECONDS = 7 * 24 * 3600;
const DEFAULT_MAX_EVENTS = 10_000;
/** entries the webhook outbox keeps at most; the relay deletes each one it has queued, so it stays near empty */
const OUTBOX_MAX_ENTRIES = 1_000_000;
/** read-modify-write attempts before an update gives up (each conflict means another writer got in first) */
const MAX_UPDATE_ATTEMPTS = 100;
/** job.json rewrites when concurrent updates keep landing (see persistSnapshot) */
const MAX_SNAPSHOT_WRITES = 5;
const STREAM_ID_PATTERN = /^\d{1,20}(-\d{1,20})?$/;

/**
 * The webhook outbox step (issue 6), shared by both scripts: an event that a webhook carries
 * (`wtype` not empty) also goes to the outbox stream when the video has a webhook subscription
 * whose filter takes it; `video.progress` at most once per the subscription's `progress_ms`.
 * Appended in the same script as the event itself, so a crash can never lose or invent a delivery.
 * The subscription hash: url, owner, progress_ms, progress_at, and `*` (every type) or one field per type.
 */
const OUTBOX_FUNCTION = `
local function outbox(subKey, outboxKey, outboxMax, videoId, entry, wtype, atMs)
  if wtype == '' then return end
  local url = redis.call('HGET', subKey, 'url')
  if not url then return end
  if redis.call('HEXISTS', subKey, '*') == 0 and redis.call('HEXISTS', subKey, wtype) == 0 then return end
  if wtype == 'video.progress' then
    local every = tonumber(redis.call('HGET', subKey, 'progress_ms') or '0')
    if every <= 0 then return end
    local last = redis.call('HGET', subKey, 'progress_at')
    if last and tonumber(atMs) - tonumber(last) < every then return end
    redis.call('HSET', subKey, 'progress_at', atMs)
  end
  redis.call('XADD', outboxKey, 'MAXLEN', '~', outboxMax, '*', 'video', videoId, 'type', wtype, 'url', url,
    'owner', redis.call('HGET', subKey, 'owner') or '', 'e', entry)
end
`;

/**
 * Creates the record, its first event, its owner index entry and its webhook subscription (when
 * it has a URL), unless the record exists.
 * KEYS: record, events, owner index, webhook subscription, webhook outbox.
 * ARGV: record JSON, max events, event entry, score, id, webhook type, event time ms, outbox max,
 * then the subscription's field/value pairs (none without a webhook).
 */
const CREATE_SCRIPT = new RedisScript(`${OUTBOX_FUNCTION}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
if #ARGV > 8 then
  redis.call('DEL', KEYS[4])
  for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
  outbox(KEYS[4], KEYS[5], ARGV[8], ARGV[5], ARGV[3], ARGV[6], ARGV[7])
end
return {id}
`);

/**
 * Compare-and-set of the record plus its events, in one atomic step: the record is replaced only
 * if it is still exactly what the transition read. Returns -1 when the record is missing, 0 on a
 * conflict, else the new stream ids. Each event also goes to the webhook outbox when subscribed.
 * A video that just ended gets the TTL and enters both retention indexes (scored by its end); one
 * that a retry reopened loses them again.
 * KEYS: record, events, webhook subscription, webhook outbox, intermediates index, results index.
 * ARGV: expected JSON, new JSON, TTL seconds (0: none), max events, video id, outbox max,
 * lifecycle ('ended', 'reopened' or ''), end time ms, then per event three values: entry,
 * webhook type ('' for none), event time ms.
 */
const UPDATE_SCRIPT = new RedisScript(`${OUTBOX_FUNCTION}
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
local ids = {}
for i = 9, #ARGV, 3 do
  ids[#ids + 1] = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[i])
  outbox(KEYS[3], KEYS[4], ARGV[6], ARGV[5], ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if ARGV[7] == 'ended' then
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[5])
  redis.call('ZADD', KEYS[6], ARGV[8], ARGV[5])
elseif ARGV[7] == 'reopened' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
  redis.call('PERSIST', KEYS[3])
  redis.call('ZREM', KEYS[5], ARGV[5])
  redis.call('ZREM', KEYS[6], ARGV[5])
end
return ids
`);

/**
 * The video records (DESIGN.md §3: the public status is our own record, driven by the workers
 * and the API) and each video's event stream, in Redis, with job.json on S3 as the durable copy.
 *
 * Updates are optimistic: read the record, apply a pure transition, then a Lua compare-and-set
 * replaces it and appends the transition's events in one step, or reports that another writer got
 * in first and the update runs again on the newer record. A script rather than WATCH/MULTI/EXEC,
 * because WATCH is per connection: on the shared commands connection one caller's EXEC would
 * clear another caller's WATCH and let a lost update through.
 */
export class VideoStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly artifacts: ArtifactStore;
  private readonly terminalTtlSeconds: number;
  private readonly maxEvents: number;

  constructor(options: VideoStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.artifacts = options.artifacts;
    this.terminalTtlSeconds = options.terminalTtlSeconds ?? DEFAULT_TERMINAL_TTL_SECONDS;
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  }

  /** Writes a new record (fails with VideoAlreadyExists if the id exists), its `status: queued` event, the owner index entry, and job.json on S3. */
  async create(record: VideoRecord, webhook?: VideoWebhookSubscription): Promise<StoredVideoEvent[]> {
    assertVideoId(record.id);
    const event: VideoEvent = { type: 'status', status: record.status, stage: record.stage };
    const created: VideoRecord = videoRecordSchema.parse({
      ...record,
      sequence: record.sequence + 1,
      ...(webhook === undefined ? {} : { webhookUrl: webhook.url }),
    });
    const entry = streamEntry(created.sequence, created.updatedAt, event);
    const keys = [this.recordKey(created.id), this.eventsKey(created.id), this.ownerKey(created.owner), this.webhookKey(created.id), this.outboxKey()];
    const reply = await CREATE_SCRIPT.run(this.redis, keys, [
      JSON.stringify(created),
      this.maxEvents,
      entry,
      Date.parse(created.createdAt),
      created.id,
      webhookEventTypeOf(event) ?? '',
      Date.parse(created.updatedAt),
      OUTBOX_MAX_ENTRIES,
      ...(webhook === undefined ? [] : subscriptionFields(created.owner, webhook)),
    ]);
    if (!Array.isArray(reply)) throw new VideoAlreadyExists(created.id);
    await this.persistSnapshot(created);
    return [{ id: String(reply[0]), videoId: created.id, sequence: created.sequence, at: created.updatedAt, event }];
  }

  /** Redis first; else job.json from S3 (a record that expired from Redis); undefined when neither has it. */
  async get(videoId: string): Promise<VideoRecord | undefined> {
    if (!VIDEO_ID_PATTERN.test(videoId)) return undefined;
    const raw = await this.redis.get(this.recordKey(videoId));
    if (raw !== null) return parseRecord(videoId, raw);
    return this.artifacts.getJson(videoId, 'job', videoRecordSchema);
  }

  /**
   * Atomic read-modify-write: applies a transition to the latest record and appends its events
   * (sequence numbers assigned here) in the same step; retried when another writer got in
   * first. Null when the transition changes nothing (also for a finished record that expired
   * from Redis); VideoNotFound when there is no such record. job.json is rewritten when the status or a stage's state changed, not on every
   * progress step; a terminal record gets the TTL.
   */
  async update(
    videoId: string,
    transition: (record: VideoRecord) => VideoTransitionResult | null,
  ): Promise<{ record: VideoRecord; events: StoredVideoEvent[] } | null> {
    assertVideoId(videoId);
    for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt += 1) {
      const raw = await this.redis.get(this.recordKey(videoId));
      if (raw === null) {
        if ((await this.restoreArchived(videoId, transition)) === 'unchanged') return null;
        continue;
      }
      const before = parseRecord(videoId, raw);
      const result = transition(before);
      if (result === null) return null;

      const stored = result.events.map((event, index) => ({ sequence: before.sequence + index + 1, at: result.record.updatedAt, event }));
      const after = videoRecordSchema.parse({ ...result.record, sequence: before.sequence + result.events.length });
      const ended = isTerminalStatus(after.status) && !isTerminalStatus(before.status);
      const reopened = !isTerminalStatus(after.status) && isTerminalStatus(before.status);
      const ttl = ended ? this.terminalTtlSeconds : 0;
      const keys = [
        this.recordKey(videoId),
        this.eventsKey(videoId),
        this.webhookKey(videoId),
        this.outboxKey(),
        this.retentionIndexKey('intermediates'),
        this.retentionIndexKey('results'),
      ];
      const reply = await UPDATE_SCRIPT.run(this.redis, keys, [
        raw,
        JSON.stringify(after),
        ttl,
        this.maxEvents,
        videoId,
        OUTBOX_MAX_ENTRIES,
        ended ? 'ended' : reopened ? 'reopened' : '',
        Date.parse(after.finishedAt ?? after.updatedAt),
        ...stored.flatMap((entry) => [
          streamEntry(entry.sequence, entry.at, entry.event),
          webhookEventTypeOf(entry.event) ?? '',
          Date.parse(entry.at),
        ]),
      ]);
      if (reply === -1) throw new VideoNotFound(videoId);
      if (!Array.isArray(reply)) continue;

      if (snapshotChanged(before, after)) await this.persistSnapshot(after);
      return { record: after, events: stored.map((entry, index) => ({ id: String(reply[index]), videoId, ...entry })) };
    }
    throw new VideoUpdateConflict(videoId, MAX_UPDATE_ATTEMPTS);
  }

  /** Ends the video's webhook subscription: later events no longer go to the outbox (a receiver answered 410 Gone). */
  async dropWebhook(videoId: string): Promise<void> {
    assertVideoId(videoId);
    await this.redis.del(this.webhookKey(videoId));
  }

  /** The owner's videos, newest first; the cursor is opaque (base64url), status filters. limit 1..100. */
  async list(owner: string, options: VideoListOptions): Promise<{ videos: VideoRecord[]; nextCursor: string | null }> {
    const limit = Math.trunc(options.limit);
    if (!(limit >= 1 && limit <= 100)) throw new RangeError(`list limit must be 1..100, got ${options.limit}`);
    const after = options.cursor === undefined ? undefined : decodeListCursor(options.cursor);
    const key = this.ownerKey(owner);
    const found: { record: VideoRecord; position: VideoListPosition }[] = [];
    // One more than the page, so a next page is promised only when one exists.
    const wanted = limit + 1;
    let offset = 0;
    while (found.length < wanted) {
      const batch = await this.redis.zrevrangebyscore(key, after === undefined ? '+inf' : after.score, '-inf', 'WITHSCORES', 'LIMIT', offset, wanted);
      if (batch.length === 0) break;
      offset += batch.length / 2;
      const positions: VideoListPosition[] = [];
      for (let index = 0; index < batch.length; index += 2) {
        const position = { id: String(batch[index]), score: Number(batch[index + 1]) };
        if (after === undefined || isAfterPosition(position, after)) positions.push(position);
      }
      const records = await this.getMany(positions.map((position) => position.id));
      for (const [index, record] of records.entries()) {
        const position = positions[index];
        if (record === undefined || position === undefined) continue;
        if (options.status !== undefined && record.status !== options.status) continue;
        found.push({ record, position });
      }
    }
    const page = found.slice(0, limit);
    const last = page.at(-1);
    return { videos: page.map((entry) => entry.record), nextCursor: found.length > limit && last !== undefined ? encodeListCursor(last.position) : null };
  }

  /** Events after `afterId` (a stream id, exclusive; all when undefined), up to `count`. Throws InvalidEventId for a malformed id. */
  async readEvents(videoId: string, options: { afterId?: string; count?: number } = {}): Promise<StoredVideoEvent[]> {
    assertVideoId(videoId);
    const start = options.afterId === undefined ? '-' : `(${checkEventId(options.afterId)}`;
    const entries =
      options.count === undefined
        ? await this.redis.xrange(this.eventsKey(videoId), start, '+')
        : await this.redis.xrange(this.eventsKey(videoId), start, '+', 'COUNT', Math.max(1, Math.trunc(options.count)));
    return entries.map(([id, fields]) => parseStreamEntry(videoId, id, fields));
  }

  /**
   * Like readEvents, but waits up to `blockMs` for an event when there is none yet (XREAD BLOCK
   * on a connection of its own, since a blocked connection serves nobody else; closed when done
   * or when `signal` aborts, which returns what arrived so far: nothing).
   */
  async waitForEvents(videoId: string, options: { afterId?: string; blockMs: number; signal?: AbortSignal; count?: number }): Promise<StoredVideoEvent[]> {
    const ready = await this.readEvents(videoId, { ...options });
    if (ready.length > 0 || options.signal?.aborted === true) return ready;

    const start = options.afterId === undefined ? '0-0' : checkEventId(options.afterId);
    // The commands connection refuses commands while connecting; this one may queue them.
    const connection = this.redis.duplicate({ enableOfflineQueue: true, connectionName: `video-store:events:${videoId}` });
    const onAbort = (): void => connection.disconnect();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const args: (string | number)[] = ['BLOCK', Math.max(1, Math.trunc(options.blockMs))];
      if (options.count !== undefined) args.unshift('COUNT', Math.max(1, Math.trunc(options.count)));
      const reply: unknown = await connection.call('XREAD', ...args, 'STREAMS', this.eventsKey(videoId), start);
      return streamEntriesOfXread(reply).map(([id, fields]) => parseStreamEntry(videoId, id, fields));
    } catch (error) {
      // Narrowing thinks `aborted` is still false here; the abort listener may have run since.
      if (isAborted(options.signal)) return [];
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (connection.status === 'ready') await connection.quit();
      else connection.disconnect();
    }
  }

  /**
   * A record no longer in Redis expired after it finished, and finished records never change on
   * their own: a transition that agrees (returns null, as every worker transition of a terminal
   * record does) gets null, like it would have while the record was in Redis. One that changes it
   * (a retry, the retention sweeper) brings job.json back into Redis (with the terminal TTL) so the
   * update runs as usual. Anything else is not found.
   */
  private async restoreArchived(videoId: string, transition: (record: VideoRecord) => VideoTransitionResult | null): Promise<'unchanged' | 'restored'> {
    const archived = await this.artifacts.getJson(videoId, 'job', videoRecordSchema);
    if (archived === undefined || !isTerminalStatus(archived.status)) throw new VideoNotFound(videoId);
    if (transition(archived) === null) return 'unchanged';
    await this.redis.set(this.recordKey(videoId), JSON.stringify(archived), 'EX', this.terminalTtlSeconds, 'NX');
    return 'restored';
  }

  /**
   * Ended videos by end time (ms) whose intermediates or results the retention sweeper has not
   * yet deleted: each video enters both when it ends, in the same step, and leaves one when that
   * part is deleted, or both when a retry reopens it.
   */
  retentionIndexKey(part: RetentionPart): string {
    return `${this.prefix}:retention:${part}`;
  }

  /** Ids of ended videos whose `part` ended at or before `endedBefore`, oldest first, up to `count`. */
  async dueForRetention(part: RetentionPart, endedBefore: Date, count: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.retentionIndexKey(part), '-inf', endedBefore.getTime(), 'LIMIT', 0, Math.max(1, Math.trunc(count)));
  }

  /** The retention sweeper dealt with `part` of the video (deleted it, or found nothing to delete). */
  async clearRetention(part: RetentionPart, videoId: string): Promise<void> {
    await this.redis.zrem(this.retentionIndexKey(part), videoId);
  }

  private recordKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}`;
  }

  private eventsKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:events`;
  }

  private webhookKey(videoId: string): string {
    return `${this.prefix}:video:${videoId}:webhook`;
  }

  private outboxKey(): string {
    return webhookOutboxKey(this.prefix);
  }

  private ownerKey(owner: string): string {
    return `${this.prefix}:videos-by-owner:${owner}`;
  }

  private async getMany(videoIds: readonly string[]): Promise<(VideoRecord | undefined)[]> {
    if (videoIds.length === 0) return [];
    const raws = await this.redis.mget(...videoIds.map((id) => this.recordKey(id)));
    return Promise.all(
      videoIds.map(async (id, index) => {
        const raw = raws[index];
        if (raw !== null && raw !== undefined) return parseRecord(id, raw);
        return this.artifacts.getJson(id, 'job', videoRecordSchema);
      }),
    );
  }

  /**
   * Writes job.json. Writes of one video from this process go one at a time (a cancel and a
   * stage completion in one process never overlap on S3). Writes from two processes may still
   * land in the opposite order of their commits, so after each write the committed record is
   * read back and, if the status or a stage's state moved on meanwhile, written again: the last
   * write is then always followed by a check that saw the latest state.
   */
  private async persistSnapshot(record: VideoRecord): Promise<void> {
    const queueKey = `${this.artifacts.bucket}/${record.id}`;
    const previous = snapshotWrites.get(queueKey) ?? Promise.resolve();
    const mine = previous.then(() => this.writeSnapshot(record));
    // The chain must go on after a failed write; the failure itself reaches this write's caller.
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    snapshotWrites.set(queueKey, settled);
    try {
      await mine;
    } finally {
      if (snapshotWrites.get(queueKey) === settled) snapshotWrites.delete(queueKey);
    }
  }

  private async writeSnapshot(record: VideoRecord): Promise<void> {
    let written = record;
    for (let write = 1; write <= MAX_SNAPSHOT_WRITES; write += 1) {
      await this.artifacts.putJson(written.id, 'job', written);
      const raw = await this.redis.get(this.recordKey(written.id));
      if (raw === null) return;
      const latest = parseRecord(written.id, raw);
      if (latest.sequence <= written.sequence || !snapshotChanged(written, latest)) return;
      written = latest;
    }
  }
}

/** job.json writes in flight in this process, by bucket and video: each waits for the one before. */
const snapshotWrites = new Map<string, Promise<void>>();

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function checkEventId(eventId: string): string {
  if (!STREAM_ID_PATTERN.test(eventId)) throw new InvalidEventId(eventId);
  return eventId;
}

/** The webhook subscription hash's field/value pairs. */
function subscriptionFields(owner: string, webhook: VideoWebhookSubscription): (string | number)[] {
  const filter = webhook.events === undefined ? ['*'] : [...new Set(webhook.events)];
  return ['url', webhook.url, 'owner', owner, 'progress_ms', webhook.progressIntervalMs ?? 0, ...filter.flatMap((type) => [type, 1])];
}

function streamEntry(sequence: number, at: string, event: VideoEvent): string {
  return JSON.stringify({ sequence, at, event });
}

function parseRecord(videoId: string, raw: string): VideoRecord {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new CorruptVideoData(videoId, `record is not JSON (${(error as Error).message})`);
  }
  const parsed = videoRecordSchema.safeParse(value);
  if (!parsed.success) throw new CorruptVideoData(videoId, `record: ${parsed.error.message}`);
  return parsed.data;
}

function parseStreamEntry(videoId: string, id: string, fields: readonly string[]): StoredVideoEvent {
  const index = fields.indexOf('e');
  const raw = index === -1 ? undefined : fields[index + 1];
  if (raw === undefined) throw new CorruptVideoData(videoId, `event ${id} has no field e`);
  let value: { sequence?: unknown; at?: unknown; event?: unknown };
  try {
    value = JSON.parse(raw) as typeof value;
  } catch (error) {
    throw new CorruptVideoData(videoId, `event ${id} is not JSON (${(error as Error).message})`);
  }
  const event = videoEventSchema.safeParse(value.event);
  if (!event.success || typeof value.sequence !== 'number' || typeof value.at !== 'string') {
    throw new CorruptVideoData(videoId, `event ${id} does not match its schema`);
  }
  return { id, videoId, sequence: value.sequence, at: value.at, event: event.data };
}

/**
 * XREAD's reply for one stream: `[[key, entries]]` in RESP2, or the RESP3 map flattened to
 * `[key, entries]` (ioredis' legacy reply mapping); null on timeout.
 */
function streamEntriesOfXread(reply: unknown): [string, string[]][] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const entries: unknown = Array.isArray(reply[0]) ? (reply[0] as unknown[])[1] : reply[1];
  return Array.isArray(entries) ? (entries as [string, string[]][]) : [];
}

/** Whether job.json should be rewritten: the status, a stage's state or what retention deleted changed. */
function snapshotChanged(before: VideoRecord, after: VideoRecord): boolean {
  if (before.status !== after.status) return true;
  if (JSON.stringify(before.retention) !== JSON.stringify(after.retention) || before.runs?.length !== after.runs?.length) return true;
  return after.stages.some((stage) => before.stageRecords[stage]?.state !== after.stageRecords[stage]?.state);
}
