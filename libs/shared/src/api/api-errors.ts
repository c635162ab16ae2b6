import type { RateLimitDecision } from './rate-limiter';

/**
 * The API's own errors, each with a `code`. They carry what the HTTP answer needs (the field,
 * the status a video is in, the rate-limit state); http-errors.ts maps them, and the other
 * libs' errors the API lets through, to HTTP once.
 */

/** No API key, or one that matches no configured key. */
export class Unauthenticated extends Error {
  readonly code = 'Unauthenticated';
  constructor() {
    super('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
    this.name = 'Unauthenticated';
  }
}

/** An upload that is none of the image or video formats the pipeline reads (sniffed from its bytes). */
export class UnsupportedMediaType extends Error {
  readonly code = 'UnsupportedMediaType';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UnsupportedMediaType';
  }
}

/** DELETE of a video that already finished. */
export class VideoNotCancellable extends Error {
  readonly code = 'VideoNotCancellable';
  constructor(
    readonly videoId: string,
    readonly status: string,
  ) {
    super(`video ${videoId} is ${status} and can no longer be cancelled`);
    this.name = 'VideoNotCancellable';
  }
}

/** The first request with this Idempotency-Key still runs (IETF draft: 409). */
export class IdempotencyKeyInUse extends Error {
  readonly code = 'IdempotencyKeyInUse';
  readonly field = 'Idempotency-Key';
  constructor() {
    super('a request with this Idempotency-Key is still being processed; retry later');
    this.name = 'IdempotencyKeyInUse';
  }
}

/** The Idempotency-Key was used before with another body (IETF draft: 422). */
export class IdempotencyKeyReused extends Error {
  readonly code = 'IdempotencyKeyReused';
  readonly field = 'Idempotency-Key';
  constructor() {
    super('this Idempotency-Key was used with a different request body');
    this.name = 'IdempotencyKeyReused';
  }
}

export class RateLimited extends Error {
  readonly code = 'RateLimited';
  constructor(readonly decision: RateLimitDecision) {
    super(`rate limit exceeded: retry in ${decision.retryAfterSeconds} s`);
    this.name = 'RateLimited';
  }
}

/** A body (or the multipart part `request`) that is not JSON. */
export class InvalidJson extends Error {
  readonly code = 'InvalidJson';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'InvalidJson';
  }
}

/** A body, a part or an upload over its size limit. */
export class PayloadTooLarge extends Error {
  readonly code = 'PayloadTooLarge';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PayloadTooLarge';
  }
}
