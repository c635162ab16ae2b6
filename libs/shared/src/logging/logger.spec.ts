import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function memoryStream(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const lines = () =>
    chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with the service, a level label and an ISO time', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 'api', level: 'info', nodeEnv: 'production', destination: stream });
    logger.info({ port: 3000 }, 'listening');
    const [line] = lines();
    expect(line).toMatchObject({ service: 'api', level: 'info', port: 3000, msg: 'listening' });
    expect(new Date(String(line?.time)).toISOString()).toBe(line?.time);
  });

  it('drops lines below the configured level', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 'api', level: 'warn', nodeEnv: 'production', destination: stream });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines().map((line) => line.msg)).toEqual(['shown']);
  });

  it('carries bindings into child loggers without leaking them to the parent', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({
      service: 'worker-decode',
      level: 'debug',
      nodeEnv: 'test',
      bindings: { queue: 'decode' },
      destination: stream,
    });
    logger.child({ jobId: '42', videoId: 'abc' }).debug('stage started');
    logger.debug('idle');
    const [child, parent] = lines();
    expect(child).toMatchObject({ service: 'worker-decode', queue: 'decode', jobId: '42', videoId: 'abc', msg: 'stage started' });
    expect(parent).toMatchObject({ queue: 'decode', msg: 'idle' });
    expect(parent).not.toHaveProperty('jobId');
  });
});
