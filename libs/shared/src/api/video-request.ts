import type { z } from 'zod';
import {
  type GenerationRequest,
  InvalidRequest,
  type RequestIssue,
  type ResolvedGenerationRequest,
  resolveGenerationRequest,
} from '../contracts/generation-request';
import type { ModelFolderManifest } from '../model-folder/manifest';
import { type CreateVideoRequest, createVideoRequestSchema, HTTP_REQUEST_FIELDS, type ResolvedRequestHttp } from './http-schemas';

/**
 * POST /v1/videos's body → the pipeline's GenerationRequest → the resolved request, with every
 * error naming the field as the client sent it (snake_case).
 */

const GENERATION_TO_HTTP_FIELDS: Record<string, string> = Object.fromEntries(
  Object.entries(HTTP_REQUEST_FIELDS).map(([http, generation]) => [generation, http]),
);

/** `superResolution` → `super_resolution`, `formats.1` → `output_formats.1`. */
function httpField(field: string): string {
  const [head = '', ...rest] = field.split('.');
  return [GENERATION_TO_HTTP_FIELDS[head] ?? head, ...rest].join('.');
}

function issuesOf(error: z.ZodError): RequestIssue[] {
  return error.issues.flatMap((issue): RequestIssue[] => {
    const path = issue.path.map(String).join('.');
    // one issue per unknown field, each naming it, rather than one for the object
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: path === '' ? key : `${path}.${key}`, message: 'is not a known field' }));
    }
    return [{ field: path === '' ? 'request' : path, message: issue.message }];
  });
}

/** The body checked against the HTTP schema (types, ranges, unknown fields). */
export function parseCreateVideoRequest(body: unknown): CreateVideoRequest {
  const parsed = createVideoRequestSchema.safeParse(body);
  if (!parsed.success) throw new InvalidRequest(issuesOf(parsed.error));
  return parsed.data;
}

function toGenerationRequest(request: CreateVideoRequest): GenerationRequest {
  const generation: Record<string, unknown> = {};
  for (const [http, name] of Object.entries(HTTP_REQUEST_FIELDS)) {
    const value = request[http as keyof CreateVideoRequest];
    if (value !== undefined) generation[name] = value;
  }
  return generation as GenerationRequest;
}

/**
 * Validates the body and fills its defaults from the model's manifest (the FPS range, the
 * optional stages it has). Throws InvalidRequest whose fields are the HTTP names.
 */
export function resolveCreateVideoRequest(
  body: unknown,
  manifest: ModelFolderManifest,
  drawSeed?: () => number,
): { request: CreateVideoRequest; resolved: ResolvedGenerationRequest } {
  const request = parseCreateVideoRequest(body);
  try {
    return { request, resolved: resolveGenerationRequest(toGenerationRequest(request), manifest, drawSeed) };
  } catch (error) {
    if (!(error instanceof InvalidRequest)) throw error;
    throw new InvalidRequest(error.issues.map(({ field, message }) => ({ field: httpField(field), message })));
  }
}

export function resolvedRequestToHttp(resolved: ResolvedGenerationRequest): ResolvedRequestHttp {
  return {
    prompt: resolved.prompt,
    negative_prompt: resolved.negativePrompt,
    seed: resolved.seed,
    num_inference_steps: resolved.steps,
    guidance_scale: resolved.guidanceScale,
    fps: resolved.fps,
    sampler: resolved.sampler,
    interpolate: resolved.interpolate,
    super_resolution: resolved.superResolution,
    interp_num_inference_steps: resolved.interpSteps,
    sr_num_inference_steps: resolved.srSteps,
    sr_noise_level: resolved.srNoiseLevel,
    output_formats: [...resolved.formats],
    ...(resolved.init === undefined ? {} : { init: { ...resolved.init } }),
  };
}
