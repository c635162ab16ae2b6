import { describe, expect, it } from 'vitest';
import { parseCancelAfter, parsePreferWait } from './job-headers';

describe('Cancel-After', () => {
  it('reads a duration in ms, s, m or h, bare numbers as seconds', () => {
    expect(parseCancelAfter(undefined, 60_000)).toBeUndefined();
    expect(parseCancelAfter('2s', 60_000)).toBe(2_000);
    expect(parseCancelAfter('1.5s', 60_000)).toBe(1_500);
    expect(parseCancelAfter('250ms', 60_000)).toBe(250);
    expect(parseCancelAfter(' 30 ', 60_000)).toBe(30_000);
    expect(parseCancelAfter('1m', 60_000)).toBe(60_000);
    expect(parseCancelAfter('1h', 3_600_000)).toBe(3_600_000);
  });

  it('refuses nonsense, zero and durations past the server maximum, naming the header', () => {
    for (const value of ['', 'soon', '-1s', '0', '2 days', '1d', '5s5']) {
      expect(() => parseCancelAfter(value, 60_000), value).toThrow(expect.objectContaining({ code: 'InvalidCancelAfter', field: 'Cancel-After' }));
    }
    expect(() => parseCancelAfter('61s', 60_000)).toThrow(/at most 60 s/);
  });
});

describe('Prefer: wait', () => {
  it('reads wait among other preferences, ignoring the ones it does not know', () => {
    expect(parsePreferWait(undefined)).toBeUndefined();
    expect(parsePreferWait('respond-async')).toBeUndefined();
    expect(parsePreferWait('wait=60')).toBe(60);
    expect(parsePreferWait('respond-async, wait=5')).toBe(5);
    expect(parsePreferWait('Wait="0"')).toBe(0);
  });

  it('refuses a wait over 60 s or no whole number, naming the header', () => {
    for (const value of ['wait=61', 'wait=', 'wait=1.5', 'wait=-1', 'wait=soon']) {
      expect(() => parsePreferWait(value), value).toThrow(expect.objectContaining({ code: 'InvalidPrefer', field: 'Prefer' }));
    }
  });
});
