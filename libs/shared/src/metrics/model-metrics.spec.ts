import { describe, expect, it } from 'vitest';
import { modelLoadSeconds, modelRunSeconds, withModelMetrics } from './model-metrics';

/** A model folder's shape as libs/diffusion has it: a class with state behind its methods and getters. */
class FakeSessionFolder {
  readonly opened: string[] = [];
  private readonly suffix = '!';
  get dir(): string {
    return '/models/tiny';
  }
  has(name: string): boolean {
    return name === 'unet';
  }
  async runner(name: string): Promise<{ name: string; run(feeds: { x: number }): Promise<{ y: number }> }> {
    this.opened.push(name);
    if (name !== 'unet') throw new Error(`no ${name}${this.suffix}`);
    return { name, run: async (feeds) => ({ y: feeds.x * 2 }) };
  }
}

async function countOf(metric: typeof modelRunSeconds, model: string): Promise<number> {
  const { values } = await metric.get();
  return values.find((entry) => entry.metricName?.endsWith('_count') && entry.labels['model'] === model && entry.labels['stage'] === 'test-stage')?.value ?? 0;
}

describe('withModelMetrics', () => {
  it('times each session load once and every run, and passes the folder through otherwise', async () => {
    const inner = new FakeSessionFolder();
    const folder = withModelMetrics(inner, 'test-stage');
    expect(folder.dir).toBe('/models/tiny');
    expect(folder.has('unet')).toBe(true);
    const runsBefore = await countOf(modelRunSeconds, 'unet');
    const loadsBefore = await countOf(modelLoadSeconds, 'unet');

    const runner = await folder.runner('unet');
    expect(await folder.runner('unet')).toBe(runner);
    expect(runner.name).toBe('unet');
    expect(await runner.run({ x: 3 })).toEqual({ y: 6 });
    expect(await runner.run({ x: 4 })).toEqual({ y: 8 });

    expect(inner.opened).toEqual(['unet']);
    expect(await countOf(modelLoadSeconds, 'unet')).toBe(loadsBefore + 1);
    expect(await countOf(modelRunSeconds, 'unet')).toBe(runsBefore + 2);
  });

  it('passes a failed load on and tries again on the next call', async () => {
    const inner = new FakeSessionFolder();
    const folder = withModelMetrics(inner, 'test-stage');
    await expect(folder.runner('vae_decoder')).rejects.toThrow('no vae_decoder!');
    await expect(folder.runner('vae_decoder')).rejects.toThrow('no vae_decoder!');
    expect(inner.opened).toEqual(['vae_decoder', 'vae_decoder']);
  });
});
