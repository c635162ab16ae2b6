import { describe, expect, it } from 'vitest';
import {
  ApiKeyRegistry,
  InvalidApiKeysError,
  apiKeyFromHeaders,
  hashApiKey,
  mergeApiKeyEntries,
  parseApiKeysFile,
  parseApiKeysVariable,
} from './api-keys';

function invalidKeysMessage(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof InvalidApiKeysError) return error.message;
    throw error;
  }
  throw new Error('expected an InvalidApiKeysError');
}

describe('hashApiKey', () => {
  it('is the hex sha256 of the key', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('parseApiKeysVariable', () => {
  it('hashes each id:key pair and keeps colons inside the key', () => {
    expect(parseApiKeysVariable('team-a:one, team-b:two:with:colons')).toEqual([
      { id: 'team-a', sha256: hashApiKey('one') },
      { id: 'team-b', sha256: hashApiKey('two:with:colons') },
    ]);
  });

  it.each([
    ['no colon', 'team-a', 'pair 1 is not of the form id:key'],
    ['empty key', 'team-a:', 'pair 1 (team-a) has an empty key'],
    ['empty id', ':secret', 'pair 1: id "" must be'],
    ['empty pair', 'team-a:one,', 'pair 2 is not of the form id:key'],
    ['bad id', 'team a:one', 'pair 1: id "team a" must be'],
    ['duplicate id', 'team-a:one,team-a:two', 'id "team-a" appears twice'],
    ['shared key', 'team-a:one,team-b:one', `id "team-b" reuses another id's key`],
  ])('refuses %s without echoing the key', (_name, value, message) => {
    const error = invalidKeysMessage(() => parseApiKeysVariable(value));
    expect(error).toContain(message);
    expect(error).not.toContain('one');
  });
});

describe('parseApiKeysFile', () => {
  it('takes sha256 entries as given (lowercased) and hashes clear keys', () => {
    const digest = hashApiKey('production-key');
    const json = JSON.stringify([
      { id: 'team-a', sha256: digest.toUpperCase() },
      { id: 'dev', key: 'dev-key' },
    ]);
    expect(parseApiKeysFile(json)).toEqual([
      { id: 'team-a', sha256: digest },
      { id: 'dev', sha256: hashApiKey('dev-key') },
    ]);
  });

  it.each([
    ['not JSON', '[{"id": "a", "key": secret}]', 'not valid JSON'],
    ['not an array', '{"id": "a", "key": "secret"}', 'expected [{ "id", "sha256" } | { "id", "key" }]'],
    ['a short digest', '[{"id": "a", "sha256": "abc"}]', 'at [0'],
    ['an unknown field', '[{"id": "a", "key": "secret", "note": "x"}]', 'at [0'],
    ['a duplicate id', '[{"id": "a", "key": "secret"}, {"id": "a", "key": "other"}]', 'id "a" appears twice'],
  ])('refuses %s without echoing a key', (_name, json, message) => {
    const error = invalidKeysMessage(() => parseApiKeysFile(json));
    expect(error).toContain(message);
    expect(error).not.toContain('secret');
  });
});

describe('parseApiKeysFile webhook fields', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const previous = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

  it('keeps a key’s secrets (two during a rotation), default URL and event filter', () => {
    const [entry] = parseApiKeysFile(
      JSON.stringify([{ id: 'a', key: 'k', webhook_secrets: [secret, previous], webhook_url: 'https://hooks.example.com/x', webhook_events: ['video.succeeded'] }]),
    );
    expect(entry?.webhook).toEqual({ secrets: [secret, previous], url: 'https://hooks.example.com/x', events: ['video.succeeded'] });
    expect(parseApiKeysFile('[{"id":"b","key":"k2"}]')[0]?.webhook).toBeUndefined();
  });

  it('refuses a malformed secret, an unknown event type, and a URL without a secret, never echoing a secret', () => {
    for (const bad of [
      [{ id: 'a', key: 'k', webhook_secrets: ['whsec_short'] }],
      [{ id: 'a', key: 'k', webhook_secrets: [secret], webhook_events: ['video.exploded'] }],
      [{ id: 'a', key: 'k', webhook_url: 'https://hooks.example.com/x' }],
    ]) {
      let message = '';
      try {
        parseApiKeysFile(JSON.stringify(bad));
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('whsec_');
    }
  });
});

describe('mergeApiKeyEntries', () => {
  it('refuses an id present in two sources', () => {
    const a = parseApiKeysVariable('team-a:one');
    const b = parseApiKeysFile(JSON.stringify([{ id: 'team-a', key: 'two' }]));
    expect(invalidKeysMessage(() => mergeApiKeyEntries(a, b))).toContain('id "team-a" appears twice');
  });
});

describe('ApiKeyRegistry', () => {
  const registry = new ApiKeyRegistry(parseApiKeysVariable('team-a:key-a,team-b:key-b'));

  it('names the owner of a known key', () => {
    expect(registry.authenticate('key-a')).toEqual({ id: 'team-a' });
    expect(registry.authenticate('key-b')).toEqual({ id: 'team-b' });
  });

  it('refuses unknown, near-miss, empty and absent keys', () => {
    expect(registry.authenticate('key-c')).toBeUndefined();
    expect(registry.authenticate('key-a ')).toBeUndefined();
    expect(registry.authenticate('KEY-A')).toBeUndefined();
    expect(registry.authenticate('')).toBeUndefined();
    expect(registry.authenticate(undefined)).toBeUndefined();
  });

  it('refuses an entry whose sha256 is not a digest', () => {
    expect(() => new ApiKeyRegistry([{ id: 'team-a', sha256: 'nothex' }])).toThrow(InvalidApiKeysError);
  });

  it('keeps no key in clear', () => {
    expect(JSON.stringify(registry)).not.toContain('key-a');
  });
});

describe('apiKeyFromHeaders', () => {
  it('reads a bearer token, the scheme in any case', () => {
    expect(apiKeyFromHeaders({ authorization: 'Bearer key-a' })).toBe('key-a');
    expect(apiKeyFromHeaders({ authorization: 'bearer  key-a' })).toBe('key-a');
  });

  it('reads X-API-Key under any header-name case', () => {
    expect(apiKeyFromHeaders({ 'x-api-key': 'key-a' })).toBe('key-a');
    expect(apiKeyFromHeaders({ 'X-API-Key': ' key-a ' })).toBe('key-a');
  });

  it('prefers the bearer token over X-API-Key', () => {
    expect(apiKeyFromHeaders({ authorization: 'Bearer key-a', 'x-api-key': 'key-b' })).toBe('key-a');
  });

  it('falls back to X-API-Key when Authorization is another scheme', () => {
    expect(apiKeyFromHeaders({ authorization: 'Basic dXNlcjpwdw==', 'x-api-key': 'key-b' })).toBe('key-b');
    expect(apiKeyFromHeaders({ authorization: 'Basic dXNlcjpwdw==' })).toBeUndefined();
  });

  it('finds nothing in absent, empty or repeated headers', () => {
    expect(apiKeyFromHeaders({})).toBeUndefined();
    expect(apiKeyFromHeaders({ authorization: 'Bearer ' })).toBeUndefined();
    expect(apiKeyFromHeaders({ 'x-api-key': '' })).toBeUndefined();
    expect(apiKeyFromHeaders({ 'x-api-key': ['key-a', 'key-b'] })).toBeUndefined();
    expect(apiKeyFromHeaders({ 'x-api-key': ['key-a'] })).toBe('key-a');
  });
});
