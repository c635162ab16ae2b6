// The serving runtime's public surface (DESIGN.md §6): plain TypeScript, no Redis, S3 or Nest.
export * from './noise/seeded-noise';
export * from './model-folder/manifest';
export * from './model-folder/validate-model-folder';
export {
  createScheduler,
  schedulerNames,
  UnsupportedSchedulerConfig,
  type Scheduler,
  type SchedulerConfig as DiffusersSchedulerConfig,
  type SchedulerName,
  type SamplingOptions,
  type PredictionType,
} from './schedulers/scheduler';
export { addNoiseAtTimestep } from './schedulers/ddpm';
export { betaSchedule, alphasCumprod, type BetaSchedule } from './schedulers/betas';
export type { TimestepSpacing } from './schedulers/timesteps';
export { applyGuidance } from './guidance/classifier-free-guidance';
export * from './video/frames';
export * from './video/frame-rate';
export * from './video/ffmpeg-path';
export * from './video/encode-video';
export * from './video/decode-video';
export * from './tokenizer/clip-tokenizer';
export * from './sessions/tensor-dtypes';
export * from './sessions/model-runner';
export * from './sessions/model-folder';
export { SessionThreadError } from './sessions/session-thread';
export * from './stages/stage-context';
export * from './stages/stage-cancelled';
export * from './stages/encode-text';
export * from './stages/generate-keyframes';
export { decode, decodeToSignedFloat, DEFAULT_DECODE_CHUNK_FRAMES, type DecodeOptions } from './stages/decode';
export {
  interpolate,
  pixelValuesFromRgbFrames,
  INTERPOLATED_FRAMES,
  type InterpolateOptions,
  type InterpolationResult,
} from './stages/interpolate';
export {
  superResolve,
  DEFAULT_SR_FRAME_BATCH,
  DEFAULT_SR_TILE_SIZE,
  TilingUnsupported,
  type SuperResolveOptions,
} from './stages/super-resolve';
export * from './pipeline';
