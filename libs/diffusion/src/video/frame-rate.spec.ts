import { describe, expect, it } from 'vitest';
import { formatFrameRate, InvalidFrameRate, toFrameRate } from './frame-rate';

describe('toFrameRate', () => {
  it.each([
    [8, 8, 1],
    [32, 32, 1],
    [7.5, 15, 2],
    [16 / 3, 16, 3],
    [30000 / 1001, 30000, 1001],
    [0.5, 1, 2],
  ])('reads %d fps as %d/%d', (fps, numerator, denominator) => {
    expect(toFrameRate(fps)).toEqual({ numerator, denominator });
  });

  it('reduces a rational', () => {
    expect(toFrameRate({ numerator: 64, denominator: 2 })).toEqual({ numerator: 32, denominator: 1 });
  });

  it.each([0, -8, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d', (fps) => {
    expect(() => toFrameRate(fps)).toThrow(InvalidFrameRate);
  });

  it('refuses a rational with a zero or fractional part', () => {
    expect(() => toFrameRate({ numerator: 30, denominator: 0 })).toThrow(InvalidFrameRate);
    expect(() => toFrameRate({ numerator: 29.97, denominator: 1 })).toThrow(InvalidFrameRate);
  });
});

describe('formatFrameRate', () => {
  it('writes whole rates as integers and others as ffmpeg rationals', () => {
    expect(formatFrameRate({ numerator: 32, denominator: 1 })).toBe('32');
    expect(formatFrameRate({ numerator: 30000, denominator: 1001 })).toBe('30000/1001');
  });
});
