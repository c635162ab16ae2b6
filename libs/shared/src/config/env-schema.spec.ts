import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { envVariable, parseEnvironment } from './env-schema';

describe('parseEnvironment', () => {
  it('never echoes a sensitive value in its error', () => {
    const spec = { API_TOKEN: envVariable('at least 10 characters', z.string().min(10), { sensitive: true }) };
    expect(() => parseEnvironment(spec, { API_TOKEN: 's3cret' })).toThrow(
      'API_TOKEN: expected at least 10 characters, got "<hidden, 6 characters>"',
    );
  });

  it('returns the parsed values typed by the spec', () => {
    const spec = { WORKERS: envVariable('a positive integer', z.coerce.number().int().positive()) };
    const values: { WORKERS: number } = parseEnvironment(spec, { WORKERS: '3' });
    expect(values).toEqual({ WORKERS: 3 });
    expect(() => parseEnvironment(spec, {})).toThrow(ConfigError);
  });
});
