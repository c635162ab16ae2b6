import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelFolder, type ModelFolder } from '../sessions/model-folder';
import { SHIPPED_MODEL_FOLDER } from '../sessions/shipped-model-folder.fixture';
import { encodeText } from './encode-text';
import {
  readKeyframeParityFixture,
  relativeMaxError,
  type KeyframeParityFixture,
} from './keyframe-parity.fixture';
import { StageCancelled } from './stage-cancelled';
import type { StageProgress } from './stage-context';

let folder: ModelFolder;
let fixture: KeyframeParityFixture;
beforeAll(async () => {
  folder = await openModelFolder(SHIPPED_MODEL_FOLDER, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  fixture = await readKeyframeParityFixture();
});
afterAll(async () => folder.close());

describe('encodeText', () => {
  it('gives the Python reference embeddings for the prompt (cond) and the negative prompt (uncond)', async () => {
    const progress: StageProgress[] = [];
    const text = await encodeText(
      folder,
      { prompt: fixture.prompt.prompt, negativePrompt: fixture.prompt.negative_prompt },
      { onProgress: (p) => progress.push(p) },
    );
    const { hidden_size: width, max_length: length } = folder.manifest.text;
    expect(text.cond.dims).toEqual([1, length, width]);
    expect(text.uncond.dims).toEqual([1, length, width]);
    expect(relativeMaxError(text.cond.data, fixture.tensors['text.cond']!.data)).toBeLessThan(1e-4);
    expect(relativeMaxError(text.uncond.data, fixture.tensors['text.uncond']!.data)).toBeLessThan(1e-4);
    expect(text.promptTokens).toEqual({ tokenCount: 7, truncated: false, droppedTokenCount: 0 });
    expect(progress).toEqual([{ stage: 'text', step: 1, totalSteps: 1 }]);
  });

  it('uses the empty prompt for uncond when there is no negative prompt', async () => {
    const withoutNegative = await encodeText(folder, { prompt: 'a blue square moving up' });
    const empty = await encodeText(folder, { prompt: '' });
    expect(withoutNegative.uncond.data).toEqual(empty.cond.data);
    expect(withoutNegative.cond.data).not.toEqual(empty.cond.data);
  });

  it('reports a prompt longer than the text encoder takes instead of cutting it silently', async () => {
    const prompt = Array.from({ length: 60 }, () => 'red circle').join(' ');
    const { promptTokens } = await encodeText(folder, { prompt });
    expect(promptTokens.truncated).toBe(true);
    expect(promptTokens.droppedTokenCount).toBe(promptTokens.tokenCount - folder.manifest.text.max_length);
    expect(promptTokens.droppedTokenCount).toBeGreaterThan(0);
  });

  it('throws StageCancelled when the signal has already aborted', async () => {
    await expect(encodeText(folder, { prompt: 'x' }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      StageCancelled,
    );
  });
});
