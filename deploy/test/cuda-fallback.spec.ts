import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openModelFolder } from '@magicvideo/diffusion';
import { createLogger, readWorkerConfig, workerSessionOptions } from '@magicvideo/shared';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/repo-root';

/**
 * The GPU image's setting (ORT_EXECUTION_PROVIDER=cuda) with the real onnxruntime-node and the
 * shipped folder. Where the CUDA provider's libraries or a GPU are missing (this repo's
 * npm install skips them; any CPU machine), every model must still load, on cpu, each after a
 * warning that names cuda's failure; where CUDA works, the sessions are on cuda.
 */

const SHIPPED_MODELS_DIR = join(REPO_ROOT, 'assets/models/magicvideo-shapes');

describe('a worker configured for cuda', () => {
  it('loads every model it opens, and says so whenever one falls back to cpu', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logger = createLogger({ service: 'worker-decode', level: 'info', nodeEnv: 'production', destination });
    const config = readWorkerConfig({ REDIS_URL: 'redis://localhost:6379', S3_BUCKET: 'magicvideo', MODELS_DIR: SHIPPED_MODELS_DIR, ORT_EXECUTION_PROVIDER: 'cuda', ORT_INTRA_OP_THREADS: '1' });
    const folder = await openModelFolder(config.modelsDir, workerSessionOptions(config, logger));
    try {
      await folder.runner('vae_decoder');
    } finally {
      await folder.close();
    }
    const lines = chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const created = lines.filter((line) => line['msg'] === 'model session created');
    expect(created.map((line) => line['model']).sort()).toEqual(['text_encoder', 'vae_decoder']);
    const fallbacks = lines.filter((line) => line['msg'] === 'execution provider cuda failed, falling back to cpu');
    for (const session of created) {
      expect(['cuda', 'cpu']).toContain(session['provider']);
      if (session['provider'] === 'cpu') {
        // onnxruntime's own reason travels with the warning (a missing library, no device, ...)
        expect(fallbacks.length, 'a cpu session without a warning about cuda').toBeGreaterThan(0);
        expect(String(fallbacks[0]?.['reason'])).not.toBe('');
        expect(fallbacks[0]).toMatchObject({ level: 'warn', provider: 'cuda', fallback: 'cpu' });
      }
    }
  });
});
