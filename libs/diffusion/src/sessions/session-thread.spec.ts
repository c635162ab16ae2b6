import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from './model-folder';
import { SessionThread } from './session-thread';
import { SHIPPED_MODEL_FOLDER } from './shipped-model-folder.fixture';

describe('the minRunMs test knob (a simulated slow model call)', () => {
  const minRunMs = 400;
  let folder: ModelFolder;
  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 1, minRunMs });
  });
  afterAll(async () => folder.close());

  it('makes a run last at least minRunMs by blocking the session thread, never the caller', async () => {
    const textEncoder = await folder.runner('text_encoder');
    const ids = folder.tokenizer.encode('a red circle moving right').inputIds;
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    const started = performance.now();
    const run = textEncoder.run({ input_ids: { data: ids, dims: [1, ids.length] } });
    const ticksWhenCalled = ticks;
    const outputs = await run;
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A lower bound the knob guarantees by construction (Atomics.wait until the deadline).
    expect(elapsed).toBeGreaterThanOrEqual(minRunMs - 1);
    // Had the wait been on this thread, no timer could have fired before the run resolved.
    expect(ticks - ticksWhenCalled).toBeGreaterThanOrEqual(2);
    expect(outputs['last_hidden_state']?.dims).toEqual([1, ids.length, folder.manifest.text.hidden_size]);
  });

  it('refuses a negative or non-finite minRunMs', () => {
    expect(() => new SessionThread({ minRunMs: -1 })).toThrow(RangeError);
    expect(() => new SessionThread({ minRunMs: Number.NaN })).toThrow(RangeError);
  });
});
