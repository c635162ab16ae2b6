import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { videoEventSchema } from './video-events';
import { isTerminalStatus, videoRecordSchema, type VideoRecord } from './video-record';
import { videoRecordFixture } from './video-record.fixture';
import { overallProgress } from './video-record';
import {
  deadlineReached,
  intermediatesExpired,
  resultsExpired,
  stageCompleted,
  stageProgressed,
  stageRetrying,
  stageStarted,
  videoCancelled,
  videoFailed,
  videoRetried,
  type VideoTransitionResult,
} from './video-transitions';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number): Date => new Date(t0.getTime() + ms);

function applied(result: VideoTransitionResult | null): VideoTransitionResult {
  expect(result).not.toBeNull();
  const { record, events } = result as VideoTransitionResult;
  expect(videoRecordSchema.parse(record)).toEqual(record);
  for (const event of events) expect(videoEventSchema.parse(event)).toEqual(event);
  return result as VideoTransitionResult;
}

describe('video transitions', () => {
  it('start a stage: running, queue wait measured, status event only on the first start', () => {
    const record = videoRecordFixture({ id: 'v1', now: t0 });
    const first = applied(stageStarted(record, 'keyframe', 1, at(1500)));
    expect(first.record.status).toBe('running');
    expect(first.record.stage).toBe('keyframe');
    expect(first.record.startedAt).toBe(at(1500).toISOString());
    expect(first.record.stageRecords.keyframe).toMatchObject({ state: 'running', waitMs: 1500, attempts: 1, step: 0 });
    expect(first.events).toEqual([
      { type: 'status', status: 'running', stage: 'keyframe' },
      { type: 'stage.started', stage: 'keyframe', attempt: 1 },
    ]);

    const retried = applied(stageStarted(first.record, 'keyframe', 2, at(9000)));
    expect(retried.events).toEqual([{ type: 'stage.started', stage: 'keyframe', attempt: 2 }]);
    expect(retried.record.startedAt).toBe(at(1500).toISOString());
    expect(retried.record.stageRecords.keyframe?.attempts).toBe(2);
  });

  it('report progress of a running stage, in stage and overall terms', () => {
    const running = applied(stageStarted(videoRecordFixture({ id: 'v1', now: t0 }), 'keyframe', 1, at(10))).record;
    const step = applied(stageProgressed(running, 'keyframe', 5, 25, at(20)));
    expect(step.record.stageRecords.keyframe).toMatchObject({ step: 5, totalSteps: 25, progress: 0.2 });
    expect(step.record.progress).toBeCloseTo(0.05);
    expect(step.events).toEqual([{ type: 'progress', stage: 'keyframe', step: 5, totalSteps: 25, stageProgress: 0.2, progress: step.record.progress }]);
    expect(stageProgressed(step.record, 'keyframe', 4, 25, at(30))).toBeNull();
    expect(stageProgressed(step.record, 'interp', 1, 10, at(30))).toBeNull();
  });

  it('complete stages in order: the next queue wait starts, outputs merge, the last one succeeds the video', () => {
    let record = videoRecordFixture({ id: 'v1', stages: ['keyframe', 'decode'], now: t0 });
    record = applied(stageStarted(record, 'keyframe', 1, at(100))).record;
    const keyframeDone = applied(stageCompleted(record, 'keyframe', { keyframes: 'videos/v1/keyframes.safetensors' }, at(1100)));
    expect(keyframeDone.events).toEqual([{ type: 'stage.completed', stage: 'keyframe', durationMs: 1000, waitMs: 100 }]);
    expect(keyframeDone.record.status).toBe('running');
    expect(keyframeDone.record.progress).toBe(0.5);
    expect(keyframeDone.record.stageRecords.decode?.queuedAt).toBe(at(1100).toISOString());

    record = applied(stageStarted(keyframeDone.record, 'decode', 1, at(1300))).record;
    expect(record.stageRecords.decode?.waitMs).toBe(200);
    const done = applied(stageCompleted(record, 'decode', { frames: 'videos/v1/frames.safetensors' }, at(2300)));
    expect(done.record).toMatchObject({ status: 'succeeded', progress: 1, finishedAt: at(2300).toISOString() });
    expect(done.record.outputs).toEqual({ keyframes: 'videos/v1/keyframes.safetensors', frames: 'videos/v1/frames.safetensors' });
    expect(done.events.at(-1)).toEqual({ type: 'status', status: 'succeeded', stage: 'decode' });
  });

  it('a retry keeps the stage running and reports the error', () => {
    const running = applied(stageStarted(videoRecordFixture({ id: 'v1' }), 'keyframe', 1, at(10))).record;
    const retry = applied(stageRetrying(running, 'keyframe', 1, { code: 'StorageUnavailable', message: 'ECONNRESET' }, at(20)));
    expect(retry.record.stageRecords.keyframe?.state).toBe('running');
    expect(retry.events).toEqual([{ type: 'stage.retrying', stage: 'keyframe', attempt: 1, error: { code: 'StorageUnavailable', message: 'ECONNRESET', stage: 'keyframe' } }]);
  });

  it('a failure fails the video and its stage, with the error', () => {
    const running = applied(stageStarted(videoRecordFixture({ id: 'v1' }), 'keyframe', 1, at(10))).record;
    const error = { code: 'ModelContractViolation', message: 'unet/model.onnx: no input sample', stage: 'keyframe' as const };
    const failed = applied(videoFailed(running, error, at(50)));
    expect(failed.record).toMatchObject({ status: 'failed', error, finishedAt: at(50).toISOString() });
    expect(failed.record.stageRecords.keyframe).toMatchObject({ state: 'failed', durationMs: 40 });
    expect(failed.events).toEqual([{ type: 'status', status: 'failed', stage: 'keyframe', error }]);
  });

  it('a cancel cancels every stage not finished, and a late completion changes nothing', () => {
    let record = videoRecordFixture({ id: 'v1' });
    record = applied(stageStarted(record, 'keyframe', 1, at(10))).record;
    record = applied(stageCompleted(record, 'keyframe', {}, at(20))).record;
    record = applied(stageStarted(record, 'interp', 1, at(30))).record;
    const cancelled = applied(videoCancelled(record, at(40)));
    expect(cancelled.record.status).toBe('cancelled');
    expect(Object.fromEntries(STAGE_NAMES.map((stage) => [stage, cancelled.record.stageRecords[stage]?.state]))).toEqual({
      keyframe: 'completed',
      interp: 'cancelled',
      decode: 'cancelled',
      sr: 'cancelled',
    });
    expect(cancelled.events).toEqual([{ type: 'status', status: 'cancelled', stage: 'interp', reason: 'requested' }]);
    expect(stageCompleted(cancelled.record, 'interp', { interp: 'x' }, at(50))).toBeNull();
  });
});

/** Any one worker or API update, as data, so fast-check can draw sequences of them. */
type Update =
  | { kind: 'start'; stage: StageName; attempt: number }
  | { kind: 'progress'; stage: StageName; step: number; total: number }
  | { kind: 'complete'; stage: StageName }
  | { kind: 'retry'; stage: StageName; attempt: number }
  | { kind: 'fail'; stage: StageName }
  | { kind: 'cancel' };

const stageArbitrary = fc.constantFrom(...STAGE_NAMES);
const updateArbitrary: fc.Arbitrary<Update> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), stage: stageArbitrary, attempt: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('progress' as const), stage: stageArbitrary, step: fc.integer({ min: -2, max: 40 }), total: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('complete' as const), stage: stageArbitrary }),
  fc.record({ kind: fc.constant('retry' as const), stage: stageArbitrary, attempt: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('fail' as const), stage: stageArbitrary }),
  fc.record({ kind: fc.constant('cancel' as const) }),
);

function apply(record: VideoRecord, update: Update, now: Date): VideoTransitionResult | null {
  switch (update.kind) {
    case 'start':
      return stageStarted(record, update.stage, update.attempt, now);
    case 'progress':
      return stageProgressed(record, update.stage, update.step, update.total, now);
    case 'complete':
      return stageCompleted(record, update.stage, {}, now);
    case 'retry':
      return stageRetrying(record, update.stage, update.attempt, { code: 'StorageUnavailable', message: 'retry' }, now);
    case 'fail':
      return videoFailed(record, { code: 'InternalError', message: 'boom', stage: update.stage }, now);
    case 'cancel':
      return videoCancelled(record, now);
  }
}

const stagesArbitrary = fc.constantFrom<StageName[]>(['keyframe', 'decode'], ['keyframe', 'interp', 'decode'], ['keyframe', 'decode', 'sr'], [...STAGE_NAMES]);

describe('video transition laws', () => {
  it('terminal records never change, and every record and event stays valid', () => {
    fc.assert(
      fc.property(stagesArbitrary, fc.array(updateArbitrary, { maxLength: 40 }), (stages, updates) => {
        let record = videoRecordFixture({ id: 'v1', stages, now: t0 });
        for (const [index, update] of updates.entries()) {
          const result = apply(record, update, at(index + 1));
          if (isTerminalStatus(record.status)) {
            expect(result).toBeNull();
            continue;
          }
          if (result === null) continue;
          videoRecordSchema.parse(result.record);
          for (const event of result.events) videoEventSchema.parse(event);
          expect(result.events.length).toBeGreaterThan(0);
          expect(result.record.progress).toBeGreaterThanOrEqual(0);
          expect(result.record.progress).toBeLessThanOrEqual(1);
          record = result.record;
        }
      }),
    );
  });

  it('progress never goes back within an attempt and stays in [0, 1]', () => {
    fc.assert(
      fc.property(
        stagesArbitrary,
        fc.array(fc.record({ step: fc.integer({ min: -5, max: 60 }), total: fc.integer({ min: 0, max: 50 }) }), { maxLength: 60 }),
        (stages, reports) => {
          const stage = stages[0] as StageName;
          let record = applied(stageStarted(videoRecordFixture({ id: 'v1', stages, now: t0 }), stage, 1, at(1))).record;
          for (const [index, report] of reports.entries()) {
            const result = stageProgressed(record, stage, report.step, report.total, at(index + 2));
            if (result === null) continue;
            const before = record.stageRecords[stage]?.progress ?? 0;
            const after = result.record.stageRecords[stage]?.progress ?? 0;
            expect(after).toBeGreaterThanOrEqual(before);
            expect(after).toBeLessThanOrEqual(1);
            expect(result.record.progress).toBeGreaterThanOrEqual(record.progress);
            expect(result.record.progress).toBeLessThanOrEqual(1);
            record = result.record;
          }
        },
      ),
    );
  });

  it('completing every stage in order succeeds the video with progress 1', () => {
    fc.assert(
      fc.property(stagesArbitrary, fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 4, maxLength: 4 }), (stages, totals) => {
        let record = videoRecordFixture({ id: 'v1', stages, now: t0 });
        let clock = 0;
        for (const [index, stage] of stages.entries()) {
          const total = totals[index] ?? 1;
          record = applied(stageStarted(record, stage, 1, at((clock += 1)))).record;
          for (let step = 1; step <= total; step += 1) record = applied(stageProgressed(record, stage, step, total, at((clock += 1)))).record;
          expect(record.status).toBe('running');
          record = applied(stageCompleted(record, stage, {}, at((clock += 1)))).record;
        }
        expect(record.status).toBe('succeeded');
        expect(record.progress).toBe(1);
        expect(stages.every((stage) => record.stageRecords[stage]?.state === 'completed')).toBe(true);
      }),
    );
  });

  it('weighs overall progress by each stage’s expected cost', () => {
    const record = { ...videoRecordFixture({ id: 'v1', stages: ['keyframe', 'decode'], now: t0 }), stageWeights: { keyframe: 0.8, decode: 0.2 } };
    const started = applied(stageStarted(record, 'keyframe', 1, at(1))).record;
    const half = applied(stageProgressed(started, 'keyframe', 5, 10, at(2))).record;
    expect(half.progress).toBeCloseTo(0.4);
    const done = applied(stageCompleted(half, 'keyframe', {}, at(3))).record;
    expect(done.progress).toBeCloseTo(0.8);
    // without weights every stage weighs the same
    expect(overallProgress({ stages: done.stages, stageRecords: done.stageRecords })).toBeCloseTo(0.5);
  });

  it('a deadline expires a video that never started and cancels one that runs, both with reason deadline', () => {
    const queued = { ...videoRecordFixture({ id: 'v1', now: t0 }), deadlineAt: at(2000).toISOString() };
    expect(deadlineReached(queued, at(1999))).toBeNull();
    const expired = applied(deadlineReached(queued, at(2000)));
    expect(expired.record).toMatchObject({ status: 'expired', reason: 'deadline', finishedAt: at(2000).toISOString() });
    expect(expired.record.stages.every((stage) => expired.record.stageRecords[stage]?.state === 'cancelled')).toBe(true);
    expect(expired.events).toEqual([{ type: 'status', status: 'expired', stage: null, reason: 'deadline' }]);
    expect(expired.record.runs).toEqual([{ run: 1, fromStage: 'keyframe', queuedAt: t0.toISOString(), finishedAt: at(2000).toISOString(), status: 'expired', reason: 'deadline' }]);

    const running = applied(stageStarted(queued, 'keyframe', 1, at(500))).record;
    const cancelled = applied(deadlineReached(running, at(2500)));
    expect(cancelled.record).toMatchObject({ status: 'cancelled', reason: 'deadline' });
    expect(cancelled.record.stageRecords.keyframe?.state).toBe('cancelled');
    expect(cancelled.events).toEqual([{ type: 'status', status: 'cancelled', stage: 'keyframe', reason: 'deadline' }]);
    expect(deadlineReached(cancelled.record, at(3000))).toBeNull();
    expect(deadlineReached(videoRecordFixture({ id: 'v2', now: t0 }), at(1e9))).toBeNull();
  });

  it('a retry re-queues a failed video from its first unfinished stage, keeping what completed and counting attempts on', () => {
    let record = videoRecordFixture({ id: 'v1', now: t0 });
    for (const [index, stage] of (['keyframe', 'interp', 'decode'] as const).entries()) {
      record = applied(stageStarted(record, stage, 1, at(index * 10 + 1))).record;
      record = applied(stageCompleted(record, stage, { [stage === 'keyframe' ? 'keyframes' : stage === 'interp' ? 'interp' : 'frames']: `k-${stage}` }, at(index * 10 + 5))).record;
    }
    record = applied(stageStarted(record, 'sr', 1, at(40))).record;
    record = applied(videoFailed(record, { code: 'ArtifactNotFound', message: 'gone', stage: 'sr' }, at(41))).record;
    expect(videoRetried(applied(stageStarted(videoRecordFixture({ id: 'v2', now: t0 }), 'keyframe', 1, at(1))).record, at(2))).toBeNull();

    const retried = applied(videoRetried(record, at(100)));
    expect(retried.record).toMatchObject({ status: 'queued', stage: 'sr', outputs: record.outputs });
    expect(retried.record.error).toBeUndefined();
    expect(retried.record.finishedAt).toBeUndefined();
    expect(retried.record.stageRecords.decode).toEqual(record.stageRecords.decode);
    expect(retried.record.stageRecords.sr).toEqual({ state: 'pending', step: 0, totalSteps: 0, progress: 0, attempts: 1, attemptsBefore: 1, queuedAt: at(100).toISOString() });
    expect(retried.record.runs?.map((run) => [run.run, run.fromStage, run.status])).toEqual([
      [1, 'keyframe', 'failed'],
      [2, 'sr', undefined],
    ]);
    expect(retried.events).toEqual([{ type: 'status', status: 'queued', stage: 'sr', run: 2 }]);

    const again = applied(stageStarted(retried.record, 'sr', 1, at(110)));
    expect(again.record.stageRecords.sr?.attempts).toBe(2);
    expect(again.events.at(-1)).toEqual({ type: 'stage.started', stage: 'sr', attempt: 2 });
    const done = applied(stageCompleted(again.record, 'sr', { srFrames: 'k-sr' }, at(120))).record;
    expect(done.status).toBe('succeeded');
    expect(done.runs?.at(-1)).toMatchObject({ run: 2, status: 'succeeded', finishedAt: at(120).toISOString() });
    expect(videoRetried(done, at(130))).toBeNull();
  });

  it('retention: once the intermediates are gone a retry starts from the first stage; once the results are gone none is possible', () => {
    let record = videoRecordFixture({ id: 'v1', stages: ['keyframe', 'decode'], now: t0 });
    record = applied(stageStarted(record, 'keyframe', 1, at(1))).record;
    record = applied(stageCompleted(record, 'keyframe', { keyframes: 'k1', text: 't1' }, at(2))).record;
    record = applied(videoCancelled(record, at(3))).record;
    expect(intermediatesExpired(applied(stageStarted(videoRecordFixture({ id: 'v2', now: t0 }), 'keyframe', 1, at(1))).record, ['text'], at(2))).toBeNull();

    const trimmed = applied(intermediatesExpired(record, ['text', 'keyframes'], at(10))).record;
    expect(trimmed.outputs).toEqual({});
    expect(trimmed.retention).toEqual({ intermediatesExpiredAt: at(10).toISOString() });
    expect(applied(videoRetried(trimmed, at(11))).record.runs?.at(-1)?.fromStage).toBe('keyframe');

    const gone = applied(resultsExpired(trimmed, at(20))).record;
    expect(gone.retention).toEqual({ intermediatesExpiredAt: at(10).toISOString(), expiredAt: at(20).toISOString() });
    expect(videoRetried(gone, at(21))).toBeNull();
    expect(resultsExpired(gone, at(30))).toBeNull();
  });
});
