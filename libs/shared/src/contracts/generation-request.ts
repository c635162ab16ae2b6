import { z } from 'zod';
import { SAMPLER_NAMES, type ModelFolderManifest, type SamplerName } from '../model-folder/manifest';

/**
 * One generation request of the pipeline (in-process and distributed) (DESIGN.md §8's fields, camelCase), and how
 * the model folder's manifest fills what the request leaves out. The resolved request is what
 * `request.json` records: every value the run used, the seed included, so a run can be repeated.
 */

export const VIDEO_FORMATS = ['mp4', 'webm', 'gif'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

/** Bounds that hold for every model folder; the FPS condition's bounds come from the manifest. */
export const REQUEST_LIMITS = {
  steps: { min: 1, max: 200 },
  guidanceScale: { min: 0, max: 30 },
  /** seeds are integers in [0, 2^53) (docs/noise.md, "Key") */
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
} as const;

const between = (min: number, max: number) => `must be between ${min} and ${max}`;
const stepCount = z
  .int('must be a whole number')
  .min(REQUEST_LIMITS.steps.min, between(REQUEST_LIMITS.steps.min, REQUEST_LIMITS.steps.max))
  .max(REQUEST_LIMITS.steps.max, between(REQUEST_LIMITS.steps.min, REQUEST_LIMITS.steps.max));
const { guidanceScale: guidance, seed: seedRange } = REQUEST_LIMITS;

export const generationRequestSchema = z.strictObject({
  prompt: z.string().trim().min(1, 'must not be empty'),
  negativePrompt: z.string().optional(),
  seed: z
    .int('must be a whole number')
    .min(seedRange.min, between(seedRange.min, seedRange.max))
    .max(seedRange.max, between(seedRange.min, seedRange.max))
    .optional(),
  /** key-frame denoising steps */
  steps: stepCount.optional(),
  guidanceScale: z
    .number()
    .min(guidance.min, between(guidance.min, guidance.max))
    .max(guidance.max, between(guidance.min, guidance.max))
    .optional(),
  /** the FPS condition ν of the key frames (paper eq. 5); also their playback rate */
  fps: z.number().positive('must be positive').optional(),
  sampler: z.enum(SAMPLER_NAMES, `must be one of ${SAMPLER_NAMES.join(', ')}`).optional(),
  interpolate: z.boolean().optional(),
  superResolution: z.boolean().optional(),
  interpSteps: stepCount.optional(),
  srSteps: stepCount.optional(),
  formats: z
    .array(z.enum(VIDEO_FORMATS, `must be among ${VIDEO_FORMATS.join(', ')}`))
    .min(1, 'must name at least one format')
    .refine((formats) => new Set(formats).size === formats.length, 'must not repeat a format')
    .optional(),
  /** image-to-video or video editing: the init frames are VAE-encoded and noised to `strength` (SDEdit) */
  init: z
    .strictObject({
      source: z.enum(['image', 'video']),
      strength: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]'),
    })
    .optional(),
});
export type GenerationRequest = z.input<typeof generationRequestSchema>;

/** A request with every default filled in: what the pipeline runs and `request.json` records. */
export interface ResolvedGenerationRequest {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  fps: number;
  sampler: SamplerName;
  interpolate: boolean;
  superResolution: boolean;
  interpSteps: number;
  srSteps: number;
  /** noise conditioning augmentation level of the SR stage (paper §3.4), from the manifest */
  srNoiseLevel: number;
  formats: VideoFormat[];
  init?: { source: 'image' | 'video'; strength: number };
}

/** One problem of a request: the field (dotted path) and what is wrong with it. */
export interface RequestIssue {
  field: string;
  message: string;
}

/** A request the pipeline cannot run; `issues` names each problem. */
export class InvalidRequest extends Error {
  readonly code = 'InvalidRequest';
  constructor(readonly issues: readonly RequestIssue[]) {
    super(`InvalidRequest: ${issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')}`);
    this.name = 'InvalidRequest';
  }
}

/** Checks a request's own fields, before any model folder is known (the FPS range needs one). */
export function parseGenerationRequest(input: unknown): z.output<typeof generationRequestSchema> {
  const parsed = generationRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidRequest(parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || 'request', message: issue.message })));
  }
  return parsed.data;
}

/** A seed from the OS's CSPRNG, for requests that name none: below 2³², small enough to type back in. */
export function randomSeed(): number {
  // Web Crypto (Node ≥ 19 and browsers, so the playground bundle needs no node:crypto): one
  // uniform 32-bit draw
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Interpolation and SR stage steps when neither request nor manifest names them. */
const FALLBACK_INTERP_STEPS = 10;
const FALLBACK_SR_STEPS = 6;
const FALLBACK_SR_NOISE_LEVEL = 20;

/**
 * Validates a request and fills its defaults from the manifest. Throws InvalidRequest for a
 * value out of range, an FPS condition outside the range the model was trained on
 * (`manifest.fps`), or an optional stage asked of a folder without its model.
 */
export function resolveGenerationRequest(
  input: unknown,
  manifest: ModelFolderManifest,
  drawSeed: () => number = randomSeed,
): ResolvedGenerationRequest {
  const request = parseGenerationRequest(input);
  const issues: RequestIssue[] = [];
  const fps = request.fps ?? manifest.fps.default;
  if (fps < manifest.fps.min || fps > manifest.fps.max) {
    issues.push({ field: 'fps', message: `${fps} is outside the model's FPS range [${manifest.fps.min}, ${manifest.fps.max}]` });
  }
  const hasInterp = manifest.models.interp_unet !== undefined && manifest.models.image_encoder !== undefined;
  const hasSr = manifest.models.sr_unet !== undefined && manifest.schedulers.sr_unet !== undefined;
  if (request.interpolate === true && !hasInterp) issues.push({ field: 'interpolate', message: 'the model folder has no interp_unet and image_encoder' });
  if (request.superResolution === true && !hasSr) issues.push({ field: 'superResolution', message: 'the model folder has no sr_unet' });
  if (request.init !== undefined && manifest.models.vae_encoder === undefined) {
    issues.push({ field: 'init', message: 'the model folder has no vae_encoder' });
  }
  if (issues.length > 0) throw new InvalidRequest(issues);

  const defaults = manifest.defaults;
  return {
    prompt: request.prompt,
    negativePrompt: request.negativePrompt ?? '',
    seed: request.seed ?? drawSeed(),
    steps: request.steps ?? defaults.num_inference_steps,
    guidanceScale: request.guidanceScale ?? defaults.guidance_scale,
    fps,
    sampler: request.sampler ?? defaults.sampler,
    interpolate: request.interpolate ?? hasInterp,
    superResolution: request.superResolution ?? hasSr,
    interpSteps: request.interpSteps ?? defaults.interp_num_inference_steps ?? FALLBACK_INTERP_STEPS,
    srSteps: request.srSteps ?? defaults.sr_num_inference_steps ?? FALLBACK_SR_STEPS,
    srNoiseLevel: defaults.sr_noise_level ?? FALLBACK_SR_NOISE_LEVEL,
    formats: request.formats ?? ['mp4'],
    ...(request.init === undefined ? {} : { init: request.init }),
  };
}

/** The finished video's frame rate: interpolation puts interp_factor frames where one was, same duration. */
export function outputFrameRate(request: ResolvedGenerationRequest, manifest: ModelFolderManifest): number {
  return request.interpolate ? request.fps * manifest.interp_factor : request.fps;
}
