// The in-process pipeline (DESIGN.md §9): the request, the composition of the stages, local artifacts.
export * from './run-pipeline';
export * from './local-artifacts';
export * from './encode-init-latents';
export * from './inspect-model-folder';
// The request's schema is a contract shared with the API (libs/shared); re-exported as the pipeline's input.
export {
  generationRequestSchema,
  InvalidRequest,
  outputFrameRate,
  parseGenerationRequest,
  randomSeed,
  REQUEST_LIMITS,
  resolveGenerationRequest,
  VIDEO_FORMATS,
  type GenerationRequest,
  type RequestIssue,
  type ResolvedGenerationRequest,
} from '@magicvideo/shared';
export * from './decode-init-frames';
export * from './encoded-file-outputs';
