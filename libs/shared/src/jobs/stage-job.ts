import { z } from 'zod';
import { ARTIFACT_FILES, VIDEO_ID_PATTERN, type ArtifactName } from '../contracts/artifact-keys';
import { REQUEST_LIMITS, VIDEO_FORMATS, type ResolvedGenerationRequest } from '../contracts/generation-request';
import { STAGE_NAMES, type StageName } from '../contracts/queue-names';
import { SAMPLER_NAMES } from '../model-folder/manifest';

/**
 * DESIGN.md §3 (contract): a stage job's data carries ids, the resolved request and S3 keys,
 * never tensors. Workers parse it with this schema before they touch anything.
 */

const stepCount = z.int().min(REQUEST_LIMITS.steps.min).max(REQUEST_LIMITS.steps.max);

/** The resolved request (every default filled in) as it travels in job data and request.json. */
export const resolvedGenerationRequestSchema = z.strictObject({
  prompt: z.string().min(1),
  negativePrompt: z.string(),
  seed: z.int().min(REQUEST_LIMITS.seed.min).max(REQUEST_LIMITS.seed.max),
  steps: stepCount,
  guidanceScale: z.number().min(REQUEST_LIMITS.guidanceScale.min).max(REQUEST_LIMITS.guidanceScale.max),
  fps: z.number().positive(),
  sampler: z.enum(SAMPLER_NAMES),
  interpolate: z.boolean(),
  superResolution: z.boolean(),
  interpSteps: stepCount,
  srSteps: stepCount,
  srNoiseLevel: z.number().min(0),
  formats: z.array(z.enum(VIDEO_FORMATS)).min(1),
  init: z.strictObject({ source: z.enum(['image', 'video']), strength: z.number().gt(0).max(1) }).optional(),
}) satisfies z.ZodType<ResolvedGenerationRequest>;

export const ARTIFACT_NAMES = Object.keys(ARTIFACT_FILES) as [ArtifactName, ...ArtifactName[]];
export const artifactNameSchema = z.enum(ARTIFACT_NAMES);

/** S3 keys by artifact name. */
export const artifactKeysSchema = z.partialRecord(artifactNameSchema, z.string().min(1));

export const stageJobDataSchema = z.strictObject({
  videoId: z.string().regex(VIDEO_ID_PATTERN),
  stage: z.enum(STAGE_NAMES),
  /** the resolved generation request */
  params: resolvedGenerationRequestSchema,
  /** S3 keys this stage reads, by artifact name */
  inputs: artifactKeysSchema,
  /** true for the flow's last stage, which encodes the video files and finishes the video */
  last: z.boolean(),
});
export type StageJobData = z.infer<typeof stageJobDataSchema>;

/** A stage job's return value: the artifacts it wrote (the next stage reads them from there). */
export interface StageJobResult {
  outputs: Partial<Record<ArtifactName, string>>;
}
export const stageJobResultSchema = z.strictObject({ outputs: artifactKeysSchema });

/**
 * `${videoId}.${stage}`, and `${videoId}.${stage}.${run}` for a retry's run (BullMQ keeps a
 * finished job's id for a while and ignores a new job under it). BullMQ custom job ids must not
 * contain `:` (its key separator).
 */
export function stageJobId(videoId: string, stage: StageName, run = 1): string {
  return run <= 1 ? `${videoId}.${stage}` : `${videoId}.${stage}.${run}`;
}

/** The API's `priority` (higher runs sooner); its bounds per API key are configuration (issue 15). */
export const PRIORITY_LIMITS = { min: -1000, max: 1000, default: 0 } as const;

/**
 * BullMQ runs a lower `priority` number first, and jobs without one (0) before every prioritised
 * job, so every stage job gets one: 1 for the API's highest, 2001 for its lowest. Equal
 * priorities run in the order they were added.
 */
export function bullmqPriority(priority: number): number {
  const bounded = Math.min(PRIORITY_LIMITS.max, Math.max(PRIORITY_LIMITS.min, Math.trunc(priority)));
  return PRIORITY_LIMITS.max + 1 - bounded;
}
