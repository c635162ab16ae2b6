import { describe, expect, it } from 'vitest';
import { webhookEventTypeOf, webhookPayloadOf } from './webhook-events';

const stored = { videoId: 'vid_1', sequence: 7, at: '2026-01-01T00:00:00.000Z' };

describe('webhook payloads of issue 15', () => {
  it('carry why a video was cancelled, and an expired video as video.expired with its reason', () => {
    expect(webhookPayloadOf({ ...stored, event: { type: 'status', status: 'cancelled', stage: 'keyframe', reason: 'deadline' } })).toEqual({
      type: 'video.cancelled',
      timestamp: stored.at,
      data: { video_id: 'vid_1', sequence: 7, reason: 'deadline' },
    });
    expect(webhookEventTypeOf({ type: 'status', status: 'expired', stage: null, reason: 'deadline' })).toBe('video.expired');
    expect(webhookPayloadOf({ ...stored, event: { type: 'status', status: 'expired', stage: null, reason: 'deadline' } }).data).toEqual({
      video_id: 'vid_1',
      sequence: 7,
      reason: 'deadline',
    });
  });

  it('number the run a retry queued, and leave a first submission without one', () => {
    expect(webhookPayloadOf({ ...stored, event: { type: 'status', status: 'queued', stage: 'decode', run: 2 } }).data).toEqual({ video_id: 'vid_1', sequence: 7, run: 2 });
    expect(webhookPayloadOf({ ...stored, event: { type: 'status', status: 'queued', stage: null } }).data).toEqual({ video_id: 'vid_1', sequence: 7 });
  });
});
