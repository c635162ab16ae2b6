// The manifest's schema lives in @magicvideo/shared (DESIGN.md §2: contracts), where the API reads it too.
export { manifestSchema, schedulerConfigSchema, SAMPLER_NAMES, type ModelFolderManifest, type SamplerName, type SchedulerConfig } from '@magicvideo/shared';
