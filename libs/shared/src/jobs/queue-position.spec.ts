import { describe, expect, it } from 'vitest';
import { estimateStart } from './queue-position';

const now = new Date('2026-01-01T00:00:00.000Z');
const inMs = (date: Date | undefined): number | undefined => (date === undefined ? undefined : date.getTime() - now.getTime());

describe('estimateStart', () => {
  it('starts now while a worker is free for it, else after the runs ahead of it, workers at a time', () => {
    expect(inMs(estimateStart({ position: 1, active: 0, workers: 1, meanDurationMs: 1000, now }))).toBe(0);
    expect(inMs(estimateStart({ position: 2, active: 0, workers: 2, meanDurationMs: 1000, now }))).toBe(0);
    // one worker, busy: the first in line waits half a run on average, each one behind a run more
    expect(inMs(estimateStart({ position: 1, active: 1, workers: 1, meanDurationMs: 1000, now }))).toBe(500);
    expect(inMs(estimateStart({ position: 3, active: 1, workers: 1, meanDurationMs: 1000, now }))).toBe(2500);
    expect(inMs(estimateStart({ position: 3, active: 2, workers: 2, meanDurationMs: 1000, now }))).toBe(1500);
  });

  it('falls as the position falls', () => {
    const estimates = [5, 4, 3, 2, 1].map((position) => inMs(estimateStart({ position, active: 1, workers: 1, meanDurationMs: 800, now })) ?? Number.NaN);
    expect(estimates).toEqual([...estimates].sort((a, b) => b - a));
    expect(new Set(estimates).size).toBe(estimates.length);
  });

  it('gives none without a worker or a measured duration', () => {
    expect(estimateStart({ position: 1, active: 0, workers: 0, meanDurationMs: 1000, now })).toBeUndefined();
    expect(estimateStart({ position: 1, active: 0, workers: 1, meanDurationMs: undefined, now })).toBeUndefined();
  });
});
