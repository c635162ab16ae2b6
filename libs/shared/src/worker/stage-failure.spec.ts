import { S3ServiceException } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ArtifactNotFound } from '../storage/artifact-store';
import { StageError } from './stage-error';
import { classifyStageFailure } from './stage-failure';
import { isTransientRedisError } from './transient-redis-error';

const running = new AbortController().signal;
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const s3Error = (name: string, httpStatusCode: number) =>
  new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });

describe('classifyStageFailure', () => {
  it('calls any failure of an aborted stage a cancel, whatever was thrown', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyStageFailure(new TypeError('x'), controller.signal).kind).toBe('cancelled');
    expect(classifyStageFailure(withCode('keyframes stage cancelled', 'StageCancelled'), running).kind).toBe('cancelled');
  });

  it('keeps the code of a bad input or a model error, without repeating it in the message', () => {
    expect(classifyStageFailure(new StageError('InvalidStageInput', 'no latents'), running)).toEqual({
      kind: 'permanent',
      code: 'InvalidStageInput',
      message: 'no latents',
    });
    expect(classifyStageFailure(new ArtifactNotFound('videos/a/text.safetensors'), running)).toEqual({
      kind: 'permanent',
      code: 'ArtifactNotFound',
      message: 'videos/a/text.safetensors',
    });
    expect(classifyStageFailure(withCode('InvalidSafetensors: header is not JSON', 'InvalidSafetensors'), running)).toMatchObject({
      kind: 'permanent',
      code: 'InvalidSafetensors',
    });
  });

  it('retries storage trouble (network, 5xx, throttling) but not a 4xx', () => {
    expect(classifyStageFailure(withCode('connect ECONNREFUSED', 'ECONNREFUSED'), running)).toMatchObject({ kind: 'transient', code: 'StorageUnavailable' });
    expect(classifyStageFailure(s3Error('SlowDown', 503), running)).toMatchObject({ kind: 'transient', code: 'StorageUnavailable' });
    expect(classifyStageFailure(s3Error('AccessDenied', 403), running)).toMatchObject({ kind: 'bug', code: 'InternalError' });
  });

  it('retries a Redis that is down or busy', () => {
    const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    expect(classifyStageFailure(offline, running)).toMatchObject({ kind: 'transient', code: 'RedisUnavailable' });
    expect(classifyStageFailure(withCode('VideoUpdateConflict: a', 'VideoUpdateConflict'), running)).toMatchObject({ kind: 'transient' });
  });

  it('fails anything else at once as InternalError, an explicit UnrecoverableError included', () => {
    expect(classifyStageFailure(new RangeError('pairBatch must be a positive integer'), running)).toEqual({
      kind: 'bug',
      code: 'InternalError',
      message: 'pairBatch must be a positive integer',
    });
    expect(classifyStageFailure(new UnrecoverableError('gave up'), running)).toMatchObject({ kind: 'permanent', code: 'InternalError' });
    expect(classifyStageFailure('a string', running)).toMatchObject({ kind: 'bug', message: 'a string' });
  });
});

describe('isTransientRedisError', () => {
  it('recognises a lost connection and "not now" replies, not script or type errors', () => {
    expect(isTransientRedisError(new Error('Connection is closed.'))).toBe(true);
    expect(isTransientRedisError(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(isTransientRedisError(Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }))).toBe(true);
    expect(isTransientRedisError(Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), { name: 'ReplyError' }))).toBe(false);
    expect(isTransientRedisError(new Error('ERR Error running script'))).toBe(false);
  });
});
