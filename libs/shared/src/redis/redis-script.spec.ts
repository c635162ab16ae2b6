import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedisConnection, createRedisConnection } from './redis-connection';
import { startTestServices, type TestServices } from '../testing/test-services';
import { RedisScript } from './redis-script';

let services: TestServices;
let redis: Redis;

beforeAll(async () => {
  services = await startTestServices();
  redis = createRedisConnection(services.redis.url, { purpose: 'commands', connectionName: 'test:redis-script' });
  await once(redis, 'ready');
});

afterAll(async () => {
  await closeRedisConnection(redis);
  await services.stop();
});

describe('RedisScript', () => {
  it('runs a script Redis has not cached yet (NOSCRIPT), and by its SHA1 afterwards', async () => {
    // A comment unique to this run makes a script no Redis has seen; SCRIPT FLUSH would disturb other tests.
    const lua = `-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`;
    const sha = createHash('sha1').update(lua).digest('hex');
    const script = new RedisScript(lua);
    const key = `${services.queuePrefix}:script-test`;
    expect(await redis.script('EXISTS', sha)).toEqual([0]);
    expect(await script.run(redis, [key], [2])).toBe(2);
    expect(await redis.script('EXISTS', sha)).toEqual([1]);
    expect(await script.run(redis, [key], [3])).toBe(5);
  });

  it('passes a script error through', async () => {
    const script = new RedisScript(`-- ${randomUUID()}\nreturn redis.error_reply('BROKEN on purpose')`);
    await expect(script.run(redis, [], [])).rejects.toThrow('BROKEN on purpose');
  });
});
