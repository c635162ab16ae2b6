import { InvalidRequest } from '../contracts/generation-request';
import type { ErrorEnvelope } from './http-schemas';
import { RateLimited, VideoExpired } from './api-errors';
import type { RateLimitDecision } from './rate-limiter';

/**
 * Errors → HTTP, in one place (STYLE.md: errors are values with codes, mapped to HTTP once, at
 * the API edge). Keyed by `code`, so errors of other libs (the job store's VideoNotFound,
 * InvalidEventId, InvalidCursor) map without this file knowing their classes.
 */

export interface HttpErrorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: ErrorEnvelope;
}

const STATUS_BY_CODE: Record<string, number> = {
  InvalidRequest: 400,
  InvalidJson: 400,
  InvalidEventId: 400,
  InvalidCursor: 400,
  InvalidIdempotencyKey: 400,
  WebhookUrlNotAllowed: 400,
  WebhookHostUnresolved: 400,
  WebhookNotConfigured: 400,
  InvalidPriority: 400,
  InvalidCancelAfter: 400,
  InvalidPrefer: 400,
  Unauthenticated: 401,
  VideoNotFound: 404,
  WebhookDeliveryNotFound: 404,
  // an id that cannot be a video's is a video that does not exist
  InvalidVideoId: 404,
  IdempotencyKeyInUse: 409,
  VideoNotCancellable: 409,
  VideoNotRetryable: 409,
  VideoExpired: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  IdempotencyKeyReused: 422,
  RateLimited: 429,
};

/** The request field each error is about, when the error does not say. */
const FIELD_BY_CODE: Record<string, string> = {
  InvalidEventId: 'last_event_id',
  InvalidCursor: 'cursor',
  InvalidIdempotencyKey: 'Idempotency-Key',
  VideoNotFound: 'id',
  InvalidVideoId: 'id',
  WebhookDeliveryNotFound: 'delivery_id',
};

/** `RateLimit-*` (IETF draft "RateLimit header fields for HTTP"), on every rate-limited route's answer. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
  };
}

function codeOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The HTTP answer of an error the API knows, or undefined for anything else (a 500, logged by the caller). */
export function httpErrorResponse(error: unknown): HttpErrorResponse | undefined {
  const code = codeOf(error);
  const statusCode = code === undefined ? undefined : STATUS_BY_CODE[code];
  if (code === undefined || statusCode === undefined) return undefined;
  const message = (error as Error).message;
  const headers: Record<string, string> = {};

  if (error instanceof InvalidRequest) {
    const fields = error.issues.map(({ field, message: issue }) => ({ field, message: issue }));
    const summary = fields.map(({ field, message: issue }) => `${field}: ${issue}`).join('; ');
    return {
      statusCode,
      headers,
      body: { error: { code, message: `invalid request: ${summary}`, ...(fields[0] ? { field: fields[0].field } : {}), fields } },
    };
  }
  if (error instanceof RateLimited) {
    Object.assign(headers, rateLimitHeaders(error.decision), { 'Retry-After': String(Math.max(1, error.decision.retryAfterSeconds)) });
  }
  if (code === 'Unauthenticated') headers['WWW-Authenticate'] = 'Bearer';
  const ownField = (error as { field?: unknown }).field;
  const field = typeof ownField === 'string' ? ownField : FIELD_BY_CODE[code];
  const expiredAt = error instanceof VideoExpired ? { expired_at: error.expiredAt } : {};
  return { statusCode, headers, body: { error: { code, message, ...(field === undefined ? {} : { field }), ...expiredAt } } };
}

/** The envelope of errors that are not the API's own: a framework's, or an unexpected one (500). */
export function errorEnvelope(code: string, message: string, field?: string): ErrorEnvelope {
  return { error: { code, message, ...(field === undefined ? {} : { field }) } };
}
