import { describe, expect, it } from 'vitest';
import { attributeCallsToStages, modelMs } from './stage-breakdown';
import type { ModelCall } from './timed-model-folder';

const call = (model: ModelCall['model'], startMs: number, endMs: number, batch = 1): ModelCall => ({ model, batch, startMs, endMs });

describe('attributeCallsToStages', () => {
  it('gives each call to the stage of the first progress event at or after its end', () => {
    const calls = [
      call('text_encoder', 0, 10, 2),
      call('unet', 11, 20, 2),
      call('unet', 21, 30, 2),
      // the interpolation stage decodes the key frames before its first step: interp's, not decode's
      call('vae_decoder', 31, 40),
      call('interp_unet', 41, 50, 30),
      call('vae_decoder', 51, 60),
    ];
    const marks = [
      { stage: 'text' as const, atMs: 10 },
      { stage: 'keyframes' as const, atMs: 20.5 },
      { stage: 'keyframes' as const, atMs: 30.5 },
      { stage: 'interp' as const, atMs: 50.5 },
      { stage: 'decode' as const, atMs: 60.5 },
    ];

    const loads = [{ model: 'unet' as const, startMs: 10, endMs: 11 }];

    const byStage = attributeCallsToStages(calls, marks, loads);

    expect(byStage.text).toEqual({ uses: [{ model: 'text_encoder', calls: 1, batches: [2], totalMs: 10 }], sessionLoadMs: 0 });
    expect(byStage.keyframes).toEqual({ uses: [{ model: 'unet', calls: 2, batches: [2], totalMs: 18 }], sessionLoadMs: 1 });
    expect(byStage.interp?.uses.map((use) => [use.model, use.calls])).toEqual([
      ['vae_decoder', 1],
      ['interp_unet', 1],
    ]);
    expect(byStage.decode?.uses).toEqual([{ model: 'vae_decoder', calls: 1, batches: [1], totalMs: 9 }]);
    expect(modelMs(byStage.interp)).toBe(18);
    expect(modelMs(byStage.sr)).toBe(0);
  });

  it('refuses a call or a session load no progress event follows', () => {
    expect(() => attributeCallsToStages([call('sr_unet', 0, 5)], [{ stage: 'decode', atMs: 4 }])).toThrow(/sr_unet/);
    expect(() => attributeCallsToStages([], [{ stage: 'decode', atMs: 4 }], [{ model: 'sr_unet', startMs: 4, endMs: 6 }])).toThrow(
      /sr_unet session/,
    );
  });
});
