import type { StageSummary, VideoQueueEvent, VideoResource, VideoStreamEvent } from '@magicvideo/shared/http-schemas';

type StageName = NonNullable<VideoResource['stage']>;

const EMPTY_STAGE: StageSummary = {
  state: 'pending',
  progress: 0,
  step: 0,
  total_steps: 0,
  queued_at: null,
  started_at: null,
  finished_at: null,
  wait_ms: null,
  duration_ms: null,
  attempts: 0,
};

function withStage(video: VideoResource, stage: StageName, change: (summary: StageSummary) => Partial<StageSummary>): VideoResource {
  const summary = video.stages[stage] ?? EMPTY_STAGE;
  return { ...video, stages: { ...video.stages, [stage]: { ...summary, ...change(summary) } } };
}

/**
 * The video as the page shows it after one SSE event: the last GET's resource moved on by the
 * stream, so progress is live without polling. The page GETs again when a stage completes and at
 * the end, for what events do not carry (the preview and download URLs).
 */
export function applyStreamEvent(video: VideoResource, item: VideoStreamEvent): VideoResource {
  const { event, at } = item;
  switch (event.type) {
    case 'progress':
      return {
        ...withStage(video, event.stage, () => ({ state: 'running', step: event.step, total_steps: event.total_steps, progress: event.stage_progress })),
        status: video.status === 'queued' ? 'running' : video.status,
        stage: event.stage,
        progress: event.progress,
        updated_at: at,
      };
    case 'stage.started':
      return {
        ...withStage(video, event.stage, (summary) => ({
          state: 'running',
          attempts: event.attempt,
          started_at: at,
          finished_at: null,
          wait_ms: summary.queued_at === null ? summary.wait_ms : Date.parse(at) - Date.parse(summary.queued_at),
        })),
        status: video.status === 'queued' ? 'running' : video.status,
        stage: event.stage,
        queue: null,
        started_at: video.started_at ?? at,
        updated_at: at,
      };
    case 'stage.completed':
      return {
        ...withStage(video, event.stage, (summary) => ({
          state: 'completed',
          progress: 1,
          step: summary.total_steps,
          finished_at: at,
          duration_ms: event.duration_ms,
          wait_ms: event.wait_ms,
        })),
        updated_at: at,
      };
    case 'stage.retrying':
      return { ...withStage(video, event.stage, () => ({ attempts: event.attempt })), updated_at: at };
    case 'status': {
      const finished = ['succeeded', 'failed', 'cancelled', 'expired'].includes(event.status);
      const stages = finished && event.status !== 'succeeded' ? stopUnfinishedStages(video.stages, event.status === 'failed' ? 'failed' : 'cancelled') : video.stages;
      return {
        ...video,
        stages,
        status: event.status,
        stage: event.stage ?? video.stage,
        error: event.error ?? video.error,
        finished_at: finished ? at : video.finished_at,
        updated_at: at,
      };
    }
  }
}

/** A queued video's new place in its queue (the SSE `queue` event); ignored once the video has left the queue. */
export function applyQueueUpdate(video: VideoResource, update: VideoQueueEvent): VideoResource {
  return video.status === 'queued' ? { ...video, queue: update.queue } : video;
}

/** A failed or cancelled video's running stage ends in that state; stages that never ran stay pending. */
function stopUnfinishedStages(stages: VideoResource['stages'], state: 'failed' | 'cancelled'): VideoResource['stages'] {
  return Object.fromEntries(
    Object.entries(stages).map(([name, summary]) => [name, summary.state === 'running' ? { ...summary, state } : summary]),
  ) as VideoResource['stages'];
}

/** How long a stage ran: its recorded duration once finished, the time so far while it runs, null before it starts. */
export function stageElapsedMs(summary: StageSummary, nowMs: number): number | null {
  if (summary.duration_ms !== null && summary.state !== 'running') return summary.duration_ms;
  if (summary.started_at === null) return null;
  const end = summary.finished_at === null ? nowMs : Date.parse(summary.finished_at);
  return Math.max(0, end - Date.parse(summary.started_at));
}
