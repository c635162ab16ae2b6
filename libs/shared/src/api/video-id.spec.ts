import { describe, expect, it } from 'vitest';
import { VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import { newVideoId } from './video-id';

describe('newVideoId', () => {
  it('is vid_ and a 26-character ULID that the artifact keys accept', () => {
    const id = newVideoId();
    expect(id).toMatch(/^vid_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(VIDEO_ID_PATTERN.test(id)).toBe(true);
  });

  it('sorts in creation order, within one millisecond and when the clock steps back', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const ids = [newVideoId(at), newVideoId(at), newVideoId(at), newVideoId(new Date(at.getTime() - 5000)), newVideoId(new Date(at.getTime() + 1))];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('starts with the time, so ids of later milliseconds sort later', () => {
    const early = newVideoId(new Date('2030-01-01T00:00:00Z'));
    const late = newVideoId(new Date('2030-01-01T00:00:00.001Z'));
    expect(early.slice(0, 14) < late.slice(0, 14)).toBe(true);
  });
});
