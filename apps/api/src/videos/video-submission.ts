import type {} from '@fastify/multipart';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { InvalidJson, type InitUpload, InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from '@magicvideo/shared';
import type { FastifyRequest } from 'fastify';

/** Size limits of POST /v1/videos (config BODY_LIMIT_BYTES, UPLOAD_LIMIT_BYTES). */
export interface SubmissionLimits {
  /** a JSON body, or the multipart part `request` */
  bodyLimitBytes: number;
  /** the multipart part `init` */
  uploadLimitBytes: number;
}

/** A POST /v1/videos body, read: the request JSON and the optional init upload. */
export interface Submission {
  body: unknown;
  init?: InitUpload;
  /** what the Idempotency-Key's fingerprint covers: the request and the upload's digest */
  fingerprintSource: unknown;
}

function isJson(request: FastifyRequest): boolean {
  const contentType = request.headers['content-type'] ?? '';
  return /^application\/json\s*(;|$)/i.test(contentType);
}

/**
 * Reads the body as JSON (already parsed by Fastify, within bodyLimit) or as multipart/form-data
 * with a part `request` (the JSON) and an optional file part `init`; parts are streamed and their
 * limits enforced while reading, so an oversized upload is refused without being buffered whole.
 */
export async function readSubmission(request: FastifyRequest, limits: SubmissionLimits): Promise<Submission> {
  if (request.isMultipart()) return readMultipart(request, limits);
  if (!isJson(request)) throw new UnsupportedMediaType('POST /v1/videos takes application/json or multipart/form-data');
  return { body: request.body, fingerprintSource: request.body };
}

async function readMultipart(request: FastifyRequest, limits: SubmissionLimits): Promise<Submission> {
  try {
    return await readMultipartParts(request, limits);
  } catch (error) {
    // busboy reports a malformed body (no boundary, cut short) as a plain Error without a code: the client's fault, not a 500
    if (error instanceof Error && !('code' in error)) {
      throw new InvalidRequest([{ field: 'body', message: `the multipart body is malformed: ${error.message}` }]);
    }
    throw error;
  }
}

async function readMultipartParts(request: FastifyRequest, limits: SubmissionLimits): Promise<Submission> {
  let body: unknown;
  let hasRequest = false;
  let init: InitUpload | undefined;
  const parts = request.parts({
    limits: { fileSize: limits.uploadLimitBytes, fieldSize: limits.bodyLimitBytes, files: 2, fields: 2, parts: 3 },
  });
  for await (const part of parts) {
    if (part.fieldname === 'request' && !hasRequest) {
      hasRequest = true;
      if (part.type === 'file') body = parseJsonPart(Buffer.from(await readFileWithinLimit(part.file, 'request')).toString('utf8'), false);
      else body = typeof part.value === 'string' ? parseJsonPart(part.value, part.valueTruncated) : part.value;
    } else if (part.fieldname === 'init' && part.type === 'file' && init === undefined) {
      init = { bytes: await readFileWithinLimit(part.file, 'init') };
    } else {
      if (part.type === 'file') part.file.resume();
      const problem = part.fieldname === 'init' ? 'must be one file part' : part.fieldname === 'request' ? 'appears twice' : 'is not a known part';
      throw new InvalidRequest([{ field: part.fieldname, message: problem }]);
    }
  }
  if (!hasRequest) throw new InvalidRequest([{ field: 'request', message: 'the multipart part `request` (the JSON request) is required' }]);
  const initSha256 = init === undefined ? null : createHash('sha256').update(init.bytes).digest('hex');
  return { body, ...(init === undefined ? {} : { init }), fingerprintSource: { request: body, init_sha256: initSha256 } };
}

/**
 * A file part's bytes, refused with 413 the moment it passes the limit. Not the plugin's
 * toBuffer(): it reads a truncated part on to its end, so an upload that never ends would be
 * read (and the request held) for ever instead of answered.
 */
async function readFileWithinLimit(file: Readable & { truncated: boolean }, field: string): Promise<Uint8Array> {
  file.once('limit', () => file.destroy(new PayloadTooLarge('the uploaded file is over the size limit', field)));
  const chunks: Buffer[] = [];
  for await (const chunk of file) chunks.push(chunk as Buffer);
  if (file.truncated) throw new PayloadTooLarge('the uploaded file is over the size limit', field);
  return new Uint8Array(Buffer.concat(chunks));
}

function parseJsonPart(text: string, truncated: boolean): unknown {
  if (truncated) throw new PayloadTooLarge('the part `request` is over the size limit', 'request');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidJson('the part `request` is not valid JSON', 'request');
  }
}
