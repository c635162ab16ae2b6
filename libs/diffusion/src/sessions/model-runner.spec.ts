import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from './model-folder';
import { ModelFeedMismatch, OnnxModelRunner, type RunnableSession } from './model-runner';
import type { TypedFeed } from './session-thread';
import { float32ToFloat16 } from './tensor-dtypes';
import { SHIPPED_MODEL_FOLDER } from './shipped-model-folder.fixture';

/** A session declaring float16 activations and an int64 timestep; records what it was fed. */
function halfPrecisionSession(fed: Record<string, TypedFeed>[]): RunnableSession {
  const tensor = (name: string, type: 'float16' | 'int64' | 'float32') => ({
    name,
    isTensor: true as const,
    type,
    shape: ['B'],
  });
  return {
    inputMetadata: [tensor('sample', 'float16'), tensor('timestep', 'int64'), tensor('fps', 'float32')],
    outputMetadata: [tensor('out_sample', 'float16')],
    run: async (feeds) => {
      fed.push(feeds);
      return {
        out_sample: { type: 'float16', data: float32ToFloat16(Float32Array.from([0.5, -1.25])), dims: [2] },
      };
    },
  };
}

describe('OnnxModelRunner', () => {
  it("converts each feed to the dtype the session's metadata declares and outputs back to float32", async () => {
    const fed: Record<string, TypedFeed>[] = [];
    const runner = new OnnxModelRunner('unet', 'unet/model.onnx', halfPrecisionSession(fed));
    const outputs = await runner.run({
      sample: { data: Float32Array.from([1, 0.1]), dims: [2] },
      timestep: { data: Float32Array.from([981, 981]), dims: [2] },
      fps: { data: Float32Array.from([8, 8]), dims: [2] },
    });
    const feeds = fed[0] as Record<string, TypedFeed>;
    expect(feeds['sample']?.type).toBe('float16');
    expect(feeds['sample']?.data).toEqual(Uint16Array.from([0x3c00, 0x2e66]));
    expect(feeds['timestep']?.type).toBe('int64');
    expect(feeds['timestep']?.data).toEqual(BigInt64Array.from([981n, 981n]));
    expect(feeds['fps']?.type).toBe('float32');
    expect(outputs['out_sample']).toEqual({ data: Float32Array.from([0.5, -1.25]), dims: [2] });
  });

  it('names the file and the input when feeds do not match the model', async () => {
    const runner = new OnnxModelRunner('unet', 'unet/model.onnx', halfPrecisionSession([]));
    const sample = { data: Float32Array.from([1, 2]), dims: [2] };
    await expect(runner.run({ sample, fps: sample })).rejects.toThrow(
      /unet\/model\.onnx: input "timestep" not fed/,
    );
    await expect(runner.run({ sample, timestep: sample, fps: sample, extra: sample })).rejects.toBeInstanceOf(
      ModelFeedMismatch,
    );
    await expect(
      runner.run({ sample: { data: sample.data, dims: [3] }, timestep: sample, fps: sample }),
    ).rejects.toThrow(/dims \[3\] need 3 values, got 2/);
  });
});

describe('a U-Net run on the shipped folder', () => {
  let folder: ModelFolder;
  beforeAll(async () => {
    folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  });
  afterAll(async () => folder.close());

  it('leaves the event loop free while it is in flight (DESIGN.md §3, lock renewal)', async () => {
    const unet = await folder.runner('unet');
    const { latent_channels: channels, frames, text } = folder.manifest;
    const batch = 4;
    const sampleCount = batch * channels * frames * 8 * 8;
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const run = unet.run({
      sample: { data: new Float32Array(sampleCount).fill(0.1), dims: [batch, channels, frames, 8, 8] },
      timestep: { data: new Float32Array(batch).fill(500), dims: [batch] },
      encoder_hidden_states: {
        data: new Float32Array(batch * text.max_length * text.hidden_size),
        dims: [batch, text.max_length, text.hidden_size],
      },
      fps: { data: new Float32Array(batch).fill(8), dims: [batch] },
    });
    const ticksWhenCalled = ticks;
    const outputs = await run;
    clearInterval(timer);
    // a run that blocked the loop would resolve before any timer callback could fire
    expect(ticks - ticksWhenCalled).toBeGreaterThanOrEqual(2);
    expect(outputs['out_sample']?.dims).toEqual([batch, channels, frames, 8, 8]);
  });
});
