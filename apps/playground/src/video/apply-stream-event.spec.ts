import type { StageSummary, VideoResource, VideoStreamEvent } from '@magicvideo/shared/http-schemas';
import { describe, expect, it } from 'vitest';
import { applyQueueUpdate, applyStreamEvent, stageElapsedMs } from './apply-stream-event';

const pending: StageSummary = {
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

// Only the fields the reducer reads or writes; the rest of the resource rides along unchanged.
const queued = {
  id: 'vid_1',
  status: 'queued',
  stage: null,
  progress: 0,
  queue: { stage: 'keyframe', position: 3, estimated_start_at: null },
  stages: { keyframe: { ...pending, queued_at: '2026-01-01T00:00:00.000Z' }, decode: pending },
  started_at: null,
  finished_at: null,
  updated_at: '2026-01-01T00:00:00.000Z',
  error: null,
} as unknown as VideoResource;

let sequence = 0;
function event(at: string, body: VideoStreamEvent['event']): VideoStreamEvent {
  sequence += 1;
  return { id: `${sequence}-0`, video_id: 'vid_1', sequence, at, event: body };
}

describe('applyStreamEvent', () => {
  it('moves a stage from started through its steps to completed, and the video to running', () => {
    let video = applyStreamEvent(queued, event('2026-01-01T00:00:02.000Z', { type: 'stage.started', stage: 'keyframe', attempt: 1 }));
    expect(video.status).toBe('running');
    expect(video.stages.keyframe).toMatchObject({ state: 'running', started_at: '2026-01-01T00:00:02.000Z', wait_ms: 2000, attempts: 1 });
    video = applyStreamEvent(video, event('2026-01-01T00:00:03.000Z', { type: 'progress', stage: 'keyframe', step: 2, total_steps: 4, stage_progress: 0.5, progress: 0.25 }));
    expect(video.stages.keyframe).toMatchObject({ step: 2, total_steps: 4, progress: 0.5 });
    expect(video.progress).toBe(0.25);
    video = applyStreamEvent(video, event('2026-01-01T00:00:05.000Z', { type: 'stage.completed', stage: 'keyframe', duration_ms: 3000, wait_ms: 2000 }));
    expect(video.stages.keyframe).toMatchObject({ state: 'completed', step: 4, progress: 1, duration_ms: 3000 });
    expect(video.stages.decode).toEqual(pending);
  });

  it('ends the running stage as cancelled on a cancelled status, leaving stages that never ran pending', () => {
    let video = applyStreamEvent(queued, event('2026-01-01T00:00:01.000Z', { type: 'stage.started', stage: 'keyframe', attempt: 1 }));
    video = applyStreamEvent(video, event('2026-01-01T00:00:02.000Z', { type: 'status', status: 'cancelled', stage: 'keyframe' }));
    expect(video.status).toBe('cancelled');
    expect(video.finished_at).toBe('2026-01-01T00:00:02.000Z');
    expect(video.stages.keyframe?.state).toBe('cancelled');
    expect(video.stages.decode?.state).toBe('pending');
  });

  it('keeps the error a failed status carries', () => {
    const error = { code: 'InitNotDecodable', message: 'not an image', stage: 'keyframe' as const };
    const video = applyStreamEvent(queued, event('2026-01-01T00:00:02.000Z', { type: 'status', status: 'failed', stage: 'keyframe', error }));
    expect(video.error).toEqual(error);
  });
});

describe('applyQueueUpdate', () => {
  it('moves a queued video to its new place, and drops the place once a stage starts', () => {
    const update = { video_id: 'vid_1', at: '2026-01-01T00:00:01.000Z', queue: { stage: 'keyframe' as const, position: 1, estimated_start_at: '2026-01-01T00:00:03.000Z' } };
    const moved = applyQueueUpdate(queued, update);
    expect(moved.queue).toEqual(update.queue);
    const started = applyStreamEvent(moved, event('2026-01-01T00:00:02.000Z', { type: 'stage.started', stage: 'keyframe', attempt: 1 }));
    expect(started.queue).toBeNull();
    // a late update cannot put a running video back in the queue
    expect(applyQueueUpdate(started, update).queue).toBeNull();
  });
});

describe('stageElapsedMs', () => {
  it('is null before the stage starts, the time so far while it runs, its duration once finished', () => {
    expect(stageElapsedMs(pending, 10_000)).toBeNull();
    const running = { ...pending, state: 'running' as const, started_at: '2026-01-01T00:00:00.000Z' };
    expect(stageElapsedMs(running, Date.parse('2026-01-01T00:00:01.500Z'))).toBe(1500);
    expect(stageElapsedMs({ ...running, state: 'completed', finished_at: '2026-01-01T00:00:04.000Z', duration_ms: 3900 }, 0)).toBe(3900);
  });
});
