import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARTIFACT_FILES, artifactKey, InvalidVideoIdError, videoPrefix } from './artifact-keys';
import { isQueueName, QUEUE_NAMES, STAGE_NAMES } from './queue-names';
import { DEFAULT_QUEUE_PREFIX, hashTagOf, isValidQueuePrefix } from './redis-prefix';

describe('queue names', () => {
  it('are the five contract names, stages in flow order', () => {
    expect(QUEUE_NAMES).toEqual(['keyframe', 'interp', 'decode', 'sr', 'webhooks']);
    expect(STAGE_NAMES).toEqual(['keyframe', 'interp', 'decode', 'sr']);
  });

  it('recognises only contract names', () => {
    expect(isQueueName('decode')).toBe(true);
    expect(isQueueName('Decode')).toBe(false);
    expect(isQueueName('upscale')).toBe(false);
  });
});

describe('redis key prefix', () => {
  it('defaults to the {mv} hash tag', () => {
    expect(DEFAULT_QUEUE_PREFIX).toBe('{mv}');
    expect(hashTagOf(DEFAULT_QUEUE_PREFIX)).toBe('mv');
    expect(isValidQueuePrefix(DEFAULT_QUEUE_PREFIX)).toBe(true);
  });

  it('finds the hash tag the way Redis Cluster does: first { to the next }', () => {
    expect(hashTagOf('app{mv}x')).toBe('mv');
    expect(hashTagOf('{a}{b}')).toBe('a');
    expect(hashTagOf('{}{mv}')).toBeUndefined();
    expect(hashTagOf('{mv')).toBeUndefined();
    expect(hashTagOf('mv')).toBeUndefined();
  });

  it('rejects prefixes without a hash tag or with the key separator', () => {
    expect(isValidQueuePrefix('bull')).toBe(false);
    expect(isValidQueuePrefix('{}')).toBe(false);
    expect(isValidQueuePrefix('{mv}:x')).toBe(false);
    expect(isValidQueuePrefix('{mv-test-1a2b}')).toBe(true);
  });
});

describe('artifact keys', () => {
  it('place every artifact under videos/{id}/ with its contract file name', () => {
    expect(artifactKey('abc', 'keyframes')).toBe('videos/abc/keyframes.safetensors');
    expect(artifactKey('01J9Z-x_y', 'videoMp4')).toBe('videos/01J9Z-x_y/video.mp4');
    expect(artifactKey('abc', 'job')).toBe('videos/abc/job.json');
    expect(videoPrefix('abc')).toBe('videos/abc/');
    expect(Object.values(ARTIFACT_FILES)).toEqual([
      'request.json', 'text.safetensors', 'keyframes.safetensors', 'interp.safetensors',
      'frames.safetensors', 'sr_frames.safetensors', 'preview.gif', 'video.mp4', 'video.webm', 'video.gif', 'job.json',
      'init.bin',
    ]);
  });

  it.each(['', '../etc', 'a/b', 'a b', 'a%2F', 'é', 'x'.repeat(129)])('rejects unsafe video id %j', (id) => {
    expect(() => artifactKey(id, 'text')).toThrow(InvalidVideoIdError);
  });

  it('never produces a key that escapes the video folder', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        let key: string;
        try {
          key = artifactKey(id, 'frames');
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidVideoIdError);
          return;
        }
        expect(key.split('/')).toEqual(['videos', id, 'frames.safetensors']);
        expect(id).not.toMatch(/^\.+$/);
      }),
    );
  });
});
