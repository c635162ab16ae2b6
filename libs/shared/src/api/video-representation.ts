import type { ArtifactName } from '../contracts/artifact-keys';
import type { VideoFormat } from '../contracts/generation-request';
import { resolvedGenerationRequestSchema } from '../jobs/stage-job';
import type { StoredVideoEvent } from '../jobs/video-events';
import type { StageRecord, VideoRecord, VideoRun } from '../jobs/video-record';
import type { RetentionPeriods } from '../jobs/video-retention';
import type { ArtifactStore } from '../storage/artifact-store';
import type { QueueStanding, StageSummary, VideoAccepted, VideoResource, VideoStreamEvent } from './http-schemas';
import { resolvedRequestToHttp } from './video-request';

/** The job record and its events as the HTTP API shows them (snake_case, presigned result URLs). */

const VIDEO_ARTIFACTS: Record<VideoFormat, ArtifactName> = { mp4: 'videoMp4', webm: 'videoWebm', gif: 'videoGif' };

export function videoLinks(videoId: string): VideoAccepted['links'] {
  const self = `/v1/videos/${videoId}`;
  return { self, events: `${self}/events`, cancel: self, retry: `${self}/retry` };
}

function stageSummary(stage: StageRecord): StageSummary {
  return {
    state: stage.state,
    progress: stage.progress,
    step: stage.step,
    total_steps: stage.totalSteps,
    queued_at: stage.queuedAt ?? null,
    started_at: stage.startedAt ?? null,
    finished_at: stage.finishedAt ?? null,
    wait_ms: stage.waitMs ?? null,
    duration_ms: stage.durationMs ?? null,
    attempts: stage.attempts,
  };
}

export interface PresignOptions {
  artifacts: ArtifactStore;
  expirySeconds: number;
  /** to say when an ended video's results go; unknown without it */
  retention?: RetentionPeriods;
}

function runOf(run: VideoRun): VideoResource['runs'][number] {
  return {
    run: run.run,
    from_stage: run.fromStage,
    queued_at: run.queuedAt,
    finished_at: run.finishedAt ?? null,
    status: run.status ?? null,
    reason: run.reason ?? null,
    error: run.error === undefined ? null : { ...run.error },
  };
}

/** When retention deletes the results: the end plus the result period; null while running or when unknown. */
function resultsExpireAt(record: VideoRecord, retention: RetentionPeriods | undefined): string | null {
  if (record.retention?.expiredAt !== undefined) return record.retention.expiredAt;
  if (retention === undefined || record.finishedAt === undefined) return null;
  return new Date(Date.parse(record.finishedAt) + retention.resultSeconds * 1000).toISOString();
}

async function videoResult(record: VideoRecord, formats: readonly VideoFormat[], presign: PresignOptions): Promise<VideoResource['result']> {
  const sign = (artifact: ArtifactName) => presign.artifacts.presign(record.id, artifact, presign.expirySeconds);
  const videos =
    record.status === 'succeeded'
      ? await Promise.all(
          formats.map(async (format) => {
            const { url, expiresAt } = await sign(VIDEO_ARTIFACTS[format]);
            return { format, url, expires_at: expiresAt };
          }),
        )
      : [];
  const preview = record.outputs.preview === undefined ? undefined : await sign('preview');
  if (videos.length === 0 && preview === undefined) return null;
  return { videos, ...(preview === undefined ? {} : { preview: { url: preview.url, expires_at: preview.expiresAt } }) };
}

export async function videoResource(record: VideoRecord, presign: PresignOptions, queue: QueueStanding | null = null): Promise<VideoResource> {
  const resolved = resolvedGenerationRequestSchema.parse(record.request);
  const stages: VideoResource['stages'] = {};
  for (const stage of record.stages) {
    const stageRecord = record.stageRecords[stage];
    if (stageRecord !== undefined) stages[stage] = stageSummary(stageRecord);
  }
  return {
    id: record.id,
    status: record.status,
    reason: record.reason ?? null,
    stage: record.stage,
    progress: record.progress,
    queue: record.status === 'queued' ? queue : null,
    priority: record.priority ?? 0,
    deadline_at: record.deadlineAt ?? null,
    expires_at: resultsExpireAt(record, presign.retention),
    runs: (record.runs ?? [{ run: 1, fromStage: record.stages[0] ?? 'keyframe', queuedAt: record.createdAt }]).map(runOf),
    stages,
    seed: resolved.seed,
    request: resolvedRequestToHttp(resolved),
    webhook_url: record.webhookUrl ?? null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    started_at: record.startedAt ?? null,
    finished_at: record.finishedAt ?? null,
    result: await videoResult(record, resolved.formats, presign),
    error: record.error === undefined ? null : { ...record.error },
    links: videoLinks(record.id),
  };
}

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A stored event as SSE `data:` carries it: the same fields, snake_case like the rest of the API. */
export function videoStreamEvent(stored: StoredVideoEvent): VideoStreamEvent {
  const event = Object.fromEntries(Object.entries(stored.event).map(([name, value]) => [snakeCase(name), value]));
  return { id: stored.id, video_id: stored.videoId, sequence: stored.sequence, at: stored.at, event: event as VideoStreamEvent['event'] };
}
