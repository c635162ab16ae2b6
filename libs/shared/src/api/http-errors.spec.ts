import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../contracts/generation-request';
import { InvalidCursor, InvalidEventId, VideoNotFound } from '../jobs/video-store-errors';
import { IdempotencyKeyInUse, RateLimited, Unauthenticated, UnsupportedMediaType, VideoNotCancellable } from './api-errors';
import { httpErrorResponse } from './http-errors';
import { InvalidIdempotencyKeyError } from './idempotency';

describe('httpErrorResponse', () => {
  it.each([
    [new VideoNotFound('vid_x'), 404, 'VideoNotFound', 'id'],
    [new VideoNotCancellable('vid_x', 'succeeded'), 409, 'VideoNotCancellable', undefined],
    [new InvalidEventId('x'), 400, 'InvalidEventId', 'last_event_id'],
    [new InvalidCursor('x'), 400, 'InvalidCursor', 'cursor'],
    [new InvalidIdempotencyKeyError(), 400, 'InvalidIdempotencyKey', 'Idempotency-Key'],
    [new IdempotencyKeyInUse(), 409, 'IdempotencyKeyInUse', 'Idempotency-Key'],
    [new UnsupportedMediaType('not an image', 'init'), 415, 'UnsupportedMediaType', 'init'],
  ])('maps %o to %i %s', (error, statusCode, code, field) => {
    const answer = httpErrorResponse(error);
    expect(answer?.statusCode).toBe(statusCode);
    expect(answer?.body.error).toEqual({ code, message: error.message, ...(field === undefined ? {} : { field }) });
  });

  it('lists every field of an InvalidRequest, the first as `field`', () => {
    const answer = httpErrorResponse(new InvalidRequest([{ field: 'prompt', message: 'must not be empty' }, { field: 'fps', message: 'too high' }]));
    expect(answer).toEqual({
      statusCode: 400,
      headers: {},
      body: {
        error: {
          code: 'InvalidRequest',
          message: 'invalid request: prompt: must not be empty; fps: too high',
          field: 'prompt',
          fields: [
            { field: 'prompt', message: 'must not be empty' },
            { field: 'fps', message: 'too high' },
          ],
        },
      },
    });
  });

  it('gives a 429 its Retry-After and RateLimit headers, and a 401 its challenge', () => {
    const limited = httpErrorResponse(new RateLimited({ allowed: false, limit: 10, remaining: 0, retryAfterSeconds: 6, resetSeconds: 60 }));
    expect(limited?.headers).toEqual({ 'Retry-After': '6', 'RateLimit-Limit': '10', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '60' });
    expect(httpErrorResponse(new Unauthenticated())?.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
  });

  it('leaves errors it does not know to the caller (a 500)', () => {
    expect(httpErrorResponse(new Error('boom'))).toBeUndefined();
    expect(httpErrorResponse(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(httpErrorResponse('a string')).toBeUndefined();
  });
});
