import type { ResolvedGenerationRequest } from '../contracts/generation-request';
import type { StageName } from '../contracts/queue-names';
import { newVideoRecord, type VideoRecord } from './video-record';

/** For tests: a resolved request as the tiny model folder's defaults make it. */
export function resolvedRequestFixture(overrides: Partial<ResolvedGenerationRequest> = {}): ResolvedGenerationRequest {
  return {
    prompt: 'a red circle moving right',
    negativePrompt: '',
    seed: 42,
    steps: 25,
    guidanceScale: 7.5,
    fps: 8,
    sampler: 'ddim',
    interpolate: true,
    superResolution: true,
    interpSteps: 10,
    srSteps: 6,
    srNoiseLevel: 20,
    formats: ['mp4'],
    ...overrides,
  };
}

/** For tests: a fresh queued record of the full four-stage flow (or the given stages). */
export function videoRecordFixture(input: { id: string; owner?: string; stages?: readonly StageName[]; now?: Date }): VideoRecord {
  return newVideoRecord({
    id: input.id,
    owner: input.owner ?? 'key_test',
    stages: input.stages ?? ['keyframe', 'interp', 'decode', 'sr'],
    request: resolvedRequestFixture(),
    now: input.now ?? new Date('2026-01-01T00:00:00.000Z'),
  });
}
