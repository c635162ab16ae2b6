import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readWorkerConfig } from '../config/app-config';
import { createLogger } from '../logging/logger';
import { workerSessionOptions } from './model-session-options';

function loggerToMemory() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ service: 'worker-sr', level: 'info', nodeEnv: 'production', destination: stream });
  const lines = () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

const workerEnv = { REDIS_URL: 'redis://localhost:6379', S3_BUCKET: 'magicvideo', MODELS_DIR: '/models' };

describe('workerSessionOptions', () => {
  it('gives the CPU image cpu sessions only, with the thread count and the slow-call knob when set', () => {
    const { logger, lines } = loggerToMemory();
    const config = readWorkerConfig({ ...workerEnv, ORT_INTRA_OP_THREADS: '3', DEBUG_MODEL_CALL_MIN_MS: '200' });
    const options = workerSessionOptions(config, logger);
    expect(options).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 3, minRunMs: 200 });
    expect(lines()).toEqual([expect.objectContaining({ executionProviders: ['cpu'], msg: 'models run on cpu' })]);
  });

  it('tries cuda first for ORT_EXECUTION_PROVIDER=cuda, keeps cpu as the fallback, and says so at start', () => {
    const { logger, lines } = loggerToMemory();
    const options = workerSessionOptions(readWorkerConfig({ ...workerEnv, ORT_EXECUTION_PROVIDER: 'cuda' }), logger);
    expect(options.executionProviders).toEqual(['cuda', 'cpu']);
    expect(options).not.toHaveProperty('intraOpNumThreads');
    expect(options).not.toHaveProperty('minRunMs');
    const [line] = lines();
    expect(line).toMatchObject({ level: 'info', executionProviders: ['cuda', 'cpu'] });
    expect(line?.msg).toContain('falls back to cpu with a warning');
  });
});
