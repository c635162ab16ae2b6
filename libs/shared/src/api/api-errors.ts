import type { RateLimitDecision } from './rate-limiter';

/**
 * The API's own errors, each with a `code`. They carry what the HTTP answer needs (the field,
 * the status a video is in, the rate-limit state); http-errors.ts maps them, and the other
 * libs' errors the API lets through, to HTTP once.
 */

/** An error about one part of the request (the body, a multipart part, a header), which the answer names as `field`. */
abstract class RequestPartError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An upload that is none of the image or video formats the pipeline reads (sniffed from its bytes), or a body neither JSON nor multipart. */
export class UnsupportedMediaType extends RequestPartError {
  readonly code = 'UnsupportedMediaType';
}

/** A body (or the multipart part `request`) that is not JSON. */
export class InvalidJson extends RequestPartError {
  readonly code = 'InvalidJson';
}

/** A body, a part or an upload over its size limit. */
export class PayloadTooLarge extends RequestPartError {
  readonly code = 'PayloadTooLarge';
}

/** No API key, or one that matches no configured key. */
export class Unauthenticated extends Error {
  readonly code = 'Unauthenticated';
  constructor() {
    super('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
    this.name = 'Unauthenticated';
  }
}

/** DELETE of a video that already finished. */
export class VideoNotCancellable extends Error {
  readonly code = 'VideoNotCancellable';
  constructor(
    readonly videoId: string,
    readonly status: string,
  ) {
    super(`video ${videoId} already finished (${status}): there is nothing to cancel`);
    this.name = 'VideoNotCancellable';
  }
}

/** The first request with this Idempotency-Key still runs (IETF draft: 409). */
export class IdempotencyKeyInUse extends RequestPartError {
  readonly code = 'IdempotencyKeyInUse';
  constructor() {
    super('a request with this Idempotency-Key is still being processed; retry later', 'Idempotency-Key');
  }
}

/** The Idempotency-Key was used before with another body (IETF draft: 422). */
export class IdempotencyKeyReused extends RequestPartError {
  readonly code = 'IdempotencyKeyReused';
  constructor() {
    super('this Idempotency-Key was used with a different request body', 'Idempotency-Key');
  }
}

export class RateLimited extends Error {
  readonly code = 'RateLimited';
  constructor(readonly decision: RateLimitDecision) {
    super(`rate limit exceeded: retry in ${decision.retryAfterSeconds} s`);
    this.name = 'RateLimited';
  }
}

/** A webhook was asked for, but the API key has no signing secret to sign it with. */
export class WebhookNotConfigured extends RequestPartError {
  readonly code = 'WebhookNotConfigured';
}

/** POST …/webhooks/{deliveryId}/retry of a delivery the video never had. */
export class WebhookDeliveryNotFound extends Error {
  readonly code = 'WebhookDeliveryNotFound';
  constructor(readonly deliveryId: string) {
    super(`no webhook delivery ${deliveryId}`);
    this.name = 'WebhookDeliveryNotFound';
  }
}

/** A `priority` above what the API key may ask for (PRIORITY_MAX, PRIORITY_MAX_BY_KEY). */
export class InvalidPriority extends RequestPartError {
  readonly code = 'InvalidPriority';
  constructor(message: string) {
    super(message, 'priority');
  }
}

/** A `Cancel-After` header that is no duration, or one past the server's maximum. */
export class InvalidCancelAfter extends RequestPartError {
  readonly code = 'InvalidCancelAfter';
  constructor(message: string) {
    super(message, 'Cancel-After');
  }
}

/** A `Prefer: wait=N` whose N is no whole number of seconds from 0 to the maximum. */
export class InvalidPrefer extends RequestPartError {
  readonly code = 'InvalidPrefer';
  constructor(message: string) {
    super(message, 'Prefer');
  }
}

/** POST …/retry of a video that has not ended, or that succeeded. */
export class VideoNotRetryable extends Error {
  readonly code = 'VideoNotRetryable';
  constructor(
    readonly videoId: string,
    readonly status: string,
  ) {
    super(`video ${videoId} is ${status}: only a failed, cancelled or expired video can be retried`);
    this.name = 'VideoNotRetryable';
  }
}

/** The video's results were deleted by retention (410 Gone, with when). */
export class VideoExpired extends Error {
  readonly code = 'VideoExpired';
  constructor(
    readonly videoId: string,
    readonly expiredAt: string,
  ) {
    super(`video ${videoId} expired at ${expiredAt}: its results were deleted`);
    this.name = 'VideoExpired';
  }
}
