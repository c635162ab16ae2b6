import {
  IdempotencyKeyInUse,
  IdempotencyKeyReused,
  type IdempotencyStore,
  InvalidIdempotencyKeyError,
  httpErrorResponse,
  parseIdempotencyKeyHeader,
  type StoredResponse,
} from '@magicvideo/shared';

/** The Idempotency-Key header's key; undefined when the request has none. */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  const key = Array.isArray(value) || value === '' ? undefined : parseIdempotencyKeyHeader(value);
  if (key === undefined) throw new InvalidIdempotencyKeyError();
  return key;
}

/**
 * IETF draft "The Idempotency-Key HTTP Header Field": runs `respond` once per key and body. A
 * retry with the same key and body gets the first answer again (with Idempotent-Replayed: true);
 * one while the first runs gets 409, one with another body 422. A 4xx answer is kept like a 2xx
 * (the same request would fail the same way); a 5xx or an unexpected error frees the key, so a
 * retry runs again.
 */
export async function respondIdempotently(
  store: IdempotencyStore,
  owner: string,
  key: string | undefined,
  fingerprint: string,
  respond: () => Promise<StoredResponse>,
): Promise<StoredResponse> {
  if (key === undefined) return respond();
  const outcome = await store.begin(owner, key, fingerprint);
  switch (outcome.kind) {
    case 'replay':
      return { ...outcome.response, headers: { ...outcome.response.headers, 'Idempotent-Replayed': 'true' } };
    case 'conflict':
      throw new IdempotencyKeyInUse();
    case 'mismatch':
      throw new IdempotencyKeyReused();
    case 'proceed':
      break;
  }
  let response: StoredResponse;
  try {
    response = await respond();
  } catch (error) {
    const answer = httpErrorResponse(error);
    if (answer !== undefined && answer.statusCode < 500) await outcome.commit(answer);
    else await outcome.abandon();
    throw error;
  }
  if (response.statusCode < 500) await outcome.commit(response);
  else await outcome.abandon();
  return response;
}
