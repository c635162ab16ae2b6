import type { ArtifactName } from '../contracts/artifact-keys';
import type { VideoFormat } from '../contracts/generation-request';
import { resolvedGenerationRequestSchema } from '../jobs/stage-job';
import type { StoredVideoEvent } from '../jobs/video-events';
import type { StageRecord, VideoRecord } from '../jobs/video-record';
import type { ArtifactStore } from '../storage/artifact-store';
import type { StageSummary, VideoAccepted, VideoResource, VideoStreamEvent } from './http-schemas';
import { resolvedRequestToHttp } from './video-request';

/** The job record and its events as the HTTP API shows them (snake_case, presigned result URLs). */

const VIDEO_ARTIFACTS: Record<VideoFormat, ArtifactName> = { mp4: 'videoMp4', webm: 'videoWebm', gif: 'videoGif' };

export function videoLinks(videoId: string): VideoAccepted['links'] {
  const self = `/v1/videos/${videoId}`;
  return { self, events: `${self}/events`, cancel: self };
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

export async function videoResource(record: VideoRecord, presign: PresignOptions): Promise<VideoResource> {
  const resolved = resolvedGenerationRequestSchema.parse(record.request);
  const stages: VideoResource['stages'] = {};
  for (const stage of record.stages) {
    const stageRecord = record.stageRecords[stage];
    if (stageRecord !== undefined) stages[stage] = stageSummary(stageRecord);
  }
  return {
    id: record.id,
    status: record.status,
    stage: record.stage,
    progress: record.progress,
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
