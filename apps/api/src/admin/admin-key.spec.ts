import { describe, expect, it } from 'vitest';
import { isAdminKey, presentedAdminKey } from './admin-key';

describe('the queue UI key check', () => {
  const key = 'an-admin-key-of-some-length';

  it('reads the key from a Bearer header and from Basic auth (any user, the key as password)', () => {
    expect(presentedAdminKey(`Bearer ${key}`)).toBe(key);
    expect(presentedAdminKey(`Basic ${Buffer.from(`ops:${key}`).toString('base64')}`)).toBe(key);
    expect(presentedAdminKey(`basic ${Buffer.from(`:${key}`).toString('base64')}`)).toBe(key);
  });

  it('finds no key without a header, with another scheme, or with Basic credentials lacking a colon', () => {
    expect(presentedAdminKey(undefined)).toBeUndefined();
    expect(presentedAdminKey('Bearer')).toBeUndefined();
    expect(presentedAdminKey(`Token ${key}`)).toBeUndefined();
    expect(presentedAdminKey(`Basic ${Buffer.from(key).toString('base64')}`)).toBeUndefined();
  });

  it('accepts the exact key only', () => {
    expect(isAdminKey(key, key)).toBe(true);
    expect(isAdminKey(`${key}x`, key)).toBe(false);
    expect(isAdminKey(key.slice(1), key)).toBe(false);
    expect(isAdminKey('', key)).toBe(false);
    expect(isAdminKey(undefined, key)).toBe(false);
  });
});
