import { IdempotencyStore, requestFingerprint, videoListSchema } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, type ErrorBody, type Owner, startApi } from './api-harness';

/** Ownership, listing, Idempotency-Key and the per-key rate limit, against one API process. */

const BURST = 20;

interface Accepted {
  id: string;
}
interface ListPage {
  data: { id: string; status: string }[];
  next_cursor: string | null;
}

describe('who sees what, idempotency and rate limits', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    // one request per minute after the burst: the burst is all a test gets
    api = await startApi({ RATE_LIMIT_BURST: String(BURST), RATE_LIMIT_PER_MINUTE: '1' });
  });

  afterAll(async () => {
    await api?.stop();
  });

  const create = async (owner: Owner, prompt: string): Promise<string> => {
    const response = await api.submit(owner, { prompt });
    expect(response.status).toBe(202);
    return ((await response.json()) as Accepted).id;
  };
  const list = async (owner: Owner, query = ''): Promise<ListPage> => {
    const response = await api.call(owner, `/v1/videos${query}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as ListPage;
    expect(videoListSchema.safeParse(page).error).toBeUndefined();
    return page;
  };

  describe('ownership', () => {
    it('answers another key’s video exactly like a missing one, for GET, DELETE and events', async () => {
      const id = await create('alice', 'alice’s video');
      const missing = 'vid_01ZZZZZZZZZZZZZZZZZZZZZZZZ';
      for (const [method, path] of [
        ['GET', ''],
        ['DELETE', ''],
        ['GET', '/events'],
      ] as const) {
        const other = await api.call('bob', `/v1/videos/${id}${path}`, { method });
        const absent = await api.call('bob', `/v1/videos/${missing}${path}`, { method });
        expect(other.status, `${method} ${path}`).toBe(404);
        const otherBody = (await other.json()) as ErrorBody;
        const absentBody = (await absent.json()) as ErrorBody;
        expect({ ...otherBody.error, message: otherBody.error.message.replace(id, '<id>') }).toEqual({
          ...absentBody.error,
          message: absentBody.error.message.replace(missing, '<id>'),
        });
      }
      // bob's DELETE changed nothing
      const own = (await (await api.call('alice', `/v1/videos/${id}`)).json()) as { status: string };
      expect(own.status).toBe('queued');
    });
  });

  describe('GET /v1/videos', () => {
    it('lists only the caller’s videos, newest first, a page at a time', async () => {
      const created: string[] = [];
      for (let index = 0; index < 5; index += 1) created.push(await create('carol', `carol ${index}`));
      await create('dave', 'dave’s video');
      const newestFirst = [...created].reverse();

      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page: ListPage = await list('carol', `?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        pages.push(page.data.map((video) => video.id));
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);
      expect((await list('carol')).data.map((video) => video.id)).toEqual(newestFirst);
      expect((await list('dave')).data).toHaveLength(1);
    });

    it('filters by status', async () => {
      const kept = await create('grace', 'kept');
      const cancelled = await create('grace', 'cancelled');
      expect((await api.call('grace', `/v1/videos/${cancelled}`, { method: 'DELETE' })).status).toBe(202);
      expect((await list('grace', '?status=cancelled')).data.map((video) => video.id)).toEqual([cancelled]);
      expect((await list('grace', '?status=queued')).data.map((video) => video.id)).toEqual([kept]);
      expect((await list('grace', '?status=succeeded')).data).toEqual([]);
    });

    it.each([
      ['?limit=0', 'limit'],
      ['?limit=101', 'limit'],
      ['?limit=ten', 'limit'],
      ['?status=done', 'status'],
      ['?cursor=not-a-cursor', 'cursor'],
      ['?sort=oldest', 'sort'],
    ])('refuses %s with 400 naming %s', async (query, field) => {
      const response = await api.call('carol', `/v1/videos${query}`);
      const body = (await response.json()) as ErrorBody;
      expect({ status: response.status, field: body.error.field }).toEqual({ status: 400, field });
    });
  });

  describe('Idempotency-Key', () => {
    const body = { prompt: 'exactly once', seed: 42 };

    it('answers a retry with the first answer, marked replayed, and creates one video', async () => {
      const first = await api.submit('erin', body, { 'Idempotency-Key': 'order-1' });
      expect(first.status).toBe(202);
      const firstBody = (await first.json()) as Accepted;
      // the same body with its keys in another order is the same request
      const retry = await api.submit('erin', { seed: 42, prompt: 'exactly once' }, { 'Idempotency-Key': 'order-1' });
      expect(retry.status).toBe(202);
      expect(await retry.json()).toEqual(firstBody);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect((await list('erin')).data.map((video) => video.id)).toEqual([firstBody.id]);
    });

    it('refuses the same key with another body with 422 IdempotencyKeyReused', async () => {
      await api.submit('erin', body, { 'Idempotency-Key': 'order-2' });
      const other = await api.submit('erin', { ...body, seed: 43 }, { 'Idempotency-Key': 'order-2' });
      expect(other.status).toBe(422);
      expect(((await other.json()) as ErrorBody).error).toMatchObject({ code: 'IdempotencyKeyReused', field: 'Idempotency-Key' });
    });

    it('refuses a duplicate while the first request is in flight with 409 IdempotencyKeyInUse', async () => {
      // the first request, held in flight: claimed exactly as the API claims it
      const store = new IdempotencyStore({ redis: api.redis, prefix: api.services.queuePrefix, ttlSeconds: 60 });
      const first = await store.begin('erin', 'order-3', requestFingerprint('POST', '/v1/videos', body));
      expect(first.kind).toBe('proceed');
      const duplicate = await api.submit('erin', body, { 'Idempotency-Key': 'order-3' });
      expect(duplicate.status).toBe(409);
      expect(((await duplicate.json()) as ErrorBody).error.code).toBe('IdempotencyKeyInUse');
      if (first.kind === 'proceed') await first.abandon();
      // abandoned (as after a crash or a 5xx): the key runs again
      expect((await api.submit('erin', body, { 'Idempotency-Key': 'order-3' })).status).toBe(202);
    });

    it('lets exactly one of concurrent duplicates through; the others get its answer or 409', async () => {
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => api.submit('heidi', { prompt: 'raced' }, { 'Idempotency-Key': 'race-1' })),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.every((status) => status === 202 || status === 409)).toBe(true);
      const ids = new Set(
        await Promise.all(answers.filter((answer) => answer.status === 202).map(async (answer) => ((await answer.json()) as Accepted).id)),
      );
      expect(ids.size).toBe(1);
      expect((await list('heidi')).data.map((video) => video.id)).toEqual([...ids]);
    });

    it('keeps a 4xx answer too: the same invalid request gets the same 400 again', async () => {
      const first = await api.submit('ivan', { prompt: '' }, { 'Idempotency-Key': 'bad-1' });
      expect(first.status).toBe(400);
      const again = await api.submit('ivan', { prompt: '' }, { 'Idempotency-Key': 'bad-1' });
      expect(again.status).toBe(400);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.json()).toEqual(await first.json());
    });

    it('keeps keys apart per API key', async () => {
      const ivan = (await (await api.submit('ivan', body, { 'Idempotency-Key': 'shared' })).json()) as Accepted;
      const judy = (await (await api.submit('judy', body, { 'Idempotency-Key': 'shared' })).json()) as Accepted;
      expect(ivan.id).not.toBe(judy.id);
    });

    it('refuses a key that is not 1-255 printable ASCII characters with 400', async () => {
      const response = await api.submit('ivan', body, { 'Idempotency-Key': 'k'.repeat(256) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error).toMatchObject({ code: 'InvalidIdempotencyKey', field: 'Idempotency-Key' });
    });
  });

  describe('rate limit', () => {
    it('passes the burst, then answers 429 RateLimited with Retry-After; other keys are not affected', async () => {
      const remaining: number[] = [];
      for (let index = 0; index < BURST; index += 1) {
        const response = await api.submit('frank', { prompt: `burst ${index}` });
        expect(response.status).toBe(202);
        expect(response.headers.get('ratelimit-limit')).toBe(String(BURST));
        remaining.push(Number(response.headers.get('ratelimit-remaining')));
      }
      expect(remaining).toEqual(Array.from({ length: BURST }, (_, index) => BURST - 1 - index));

      const refused = await api.submit('frank', { prompt: 'one too many' });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('RateLimited');
      // refused before anything was created
      expect((await list('frank', '?limit=100')).data).toHaveLength(BURST);
      // reading is not rate limited, and another key still submits
      expect((await api.call('frank', '/v1/videos?limit=1')).status).toBe(200);
      expect((await api.submit('judy', { prompt: 'unaffected' })).status).toBe(202);
    });
  });
});
