import { type CreateVideoRequest, createVideoRequestSchema, type ResolvedRequestHttp } from '@magicvideo/shared/http-schemas';
import type { FieldProblem } from './api-error';

const requestShape = createVideoRequestSchema.shape;
/** The samplers and formats the API accepts, read from its schema so the form cannot offer others. */
export const SAMPLERS = requestShape.sampler.unwrap().options;
export const VIDEO_FORMATS = requestShape.output_formats.unwrap().element.options;

export type Sampler = (typeof SAMPLERS)[number];
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

/** The form's fields as typed: numbers as text, '' meaning "the model's default". */
export interface CreateVideoForm {
  prompt: string;
  negativePrompt: string;
  seed: string;
  steps: string;
  guidanceScale: string;
  fps: string;
  sampler: Sampler | '';
  interpolate: boolean;
  superResolution: boolean;
  interpSteps: string;
  srSteps: string;
  formats: VideoFormat[];
  /** '' for the API key's default (or none) */
  webhookUrl: string;
}

export const EMPTY_FORM: CreateVideoForm = {
  prompt: '',
  negativePrompt: '',
  seed: '',
  steps: '',
  guidanceScale: '',
  fps: '',
  sampler: '',
  interpolate: true,
  superResolution: true,
  interpSteps: '',
  srSteps: '',
  formats: ['mp4'],
  webhookUrl: '',
};

/** A number field's text as a number ('' stays unset); text that is no number is kept for the schema to refuse. */
function numberOrUnset(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

export type FormOutcome = { ok: true; request: CreateVideoRequest } | { ok: false; problems: FieldProblem[] };

/** The POST /v1/videos body of the form, checked against the API's own schema before it is sent. */
export function requestFromForm(form: CreateVideoForm): FormOutcome {
  const candidate = {
    prompt: form.prompt,
    negative_prompt: form.negativePrompt.trim() === '' ? undefined : form.negativePrompt,
    seed: numberOrUnset(form.seed),
    num_inference_steps: numberOrUnset(form.steps),
    guidance_scale: numberOrUnset(form.guidanceScale),
    fps: numberOrUnset(form.fps),
    sampler: form.sampler === '' ? undefined : form.sampler,
    interpolate: form.interpolate,
    super_resolution: form.superResolution,
    interp_num_inference_steps: form.interpolate ? numberOrUnset(form.interpSteps) : undefined,
    sr_num_inference_steps: form.superResolution ? numberOrUnset(form.srSteps) : undefined,
    output_formats: form.formats,
    webhook_url: form.webhookUrl.trim() === '' ? undefined : form.webhookUrl.trim(),
  };
  // unset fields are left out, not sent as undefined: the model's defaults apply to them
  const parsed = createVideoRequestSchema.safeParse(Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined)));
  if (parsed.success) return { ok: true, request: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || 'request', message: issue.message })) };
}

/**
 * The request that makes the same video again: the resolved request (every default and the seed
 * filled in) as a POST body, with the video's webhook URL. An init image or video is a multipart
 * upload, left out here.
 */
export function replayRequest(resolved: ResolvedRequestHttp, webhookUrl: string | null = null): CreateVideoRequest {
  return {
    prompt: resolved.prompt,
    ...(resolved.negative_prompt === '' ? {} : { negative_prompt: resolved.negative_prompt }),
    seed: resolved.seed,
    num_inference_steps: resolved.num_inference_steps,
    guidance_scale: resolved.guidance_scale,
    fps: resolved.fps,
    sampler: resolved.sampler,
    interpolate: resolved.interpolate,
    super_resolution: resolved.super_resolution,
    interp_num_inference_steps: resolved.interp_num_inference_steps,
    sr_num_inference_steps: resolved.sr_num_inference_steps,
    output_formats: resolved.output_formats,
    ...(webhookUrl === null ? {} : { webhook_url: webhookUrl }),
  };
}
