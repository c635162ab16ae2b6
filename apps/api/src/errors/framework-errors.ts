import { HttpException } from '@nestjs/common';
import { errorEnvelope, type HttpErrorResponse } from '@magicvideo/shared';
import { STATUS_CODES } from 'node:http';

/**
 * Errors raised by Fastify, its plugins and Nest before a handler runs (body parsing, limits,
 * unknown routes), in the API's one error envelope with its own codes.
 */

const FASTIFY_CODES: Record<string, { statusCode: number; code: string; message: string; field?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: 'PayloadTooLarge', message: 'the request body is over the size limit' },
  FST_REQ_FILE_TOO_LARGE: { statusCode: 413, code: 'PayloadTooLarge', message: 'the uploaded file is over the size limit', field: 'init' },
  FST_PARTS_LIMIT: { statusCode: 413, code: 'PayloadTooLarge', message: 'too many multipart parts: send `request` and at most one `init`' },
  FST_FILES_LIMIT: { statusCode: 413, code: 'PayloadTooLarge', message: 'too many files: upload one `init` file' },
  FST_FIELDS_LIMIT: { statusCode: 413, code: 'PayloadTooLarge', message: 'too many multipart fields: send one `request`' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    statusCode: 415,
    code: 'UnsupportedMediaType',
    message: 'the body must be application/json or multipart/form-data',
  },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { statusCode: 415, code: 'UnsupportedMediaType', message: 'the request is not multipart/form-data' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: 'InvalidJson', message: 'the body is empty; a JSON object was expected' },
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: 'InvalidJson', message: 'the body is not valid JSON' },
  FST_INVALID_JSON_FIELD_ERROR: { statusCode: 400, code: 'InvalidJson', message: 'the part `request` is not valid JSON', field: 'request' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: 'InvalidContentLength', message: 'Content-Length does not match the body' },
  FST_PROTO_VIOLATION: { statusCode: 400, code: 'InvalidRequest', message: 'a multipart part name is not allowed' },
  FST_MP_PREMATURE_CLOSE: { statusCode: 400, code: 'InvalidRequest', message: 'the multipart body ended early' },
};

/** Status → code for framework errors without a more precise code (`404` → `NotFound`). */
function codeOfStatus(statusCode: number): string {
  return (STATUS_CODES[statusCode] ?? 'Error').replace(/[^A-Za-z]/g, '');
}

interface ErrorWithStatus {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/** The answer to a framework error, or undefined for anything else (a 500). */
export function frameworkErrorResponse(error: unknown): HttpErrorResponse | undefined {
  // Nest wraps Fastify's 4xx errors in an HttpException whose cause is the original
  const original: unknown = error instanceof HttpException && error.cause instanceof Error ? error.cause : error;
  const { code, statusCode } = (original ?? {}) as ErrorWithStatus;
  const known = typeof code === 'string' ? FASTIFY_CODES[code] : undefined;
  if (known !== undefined) {
    return { statusCode: known.statusCode, headers: {}, body: errorEnvelope(known.code, known.message, known.field) };
  }
  if (error instanceof HttpException && error.getStatus() < 500) {
    const status = error.getStatus();
    return { statusCode: status, headers: {}, body: errorEnvelope(codeOfStatus(status), error.message) };
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { statusCode, headers: {}, body: errorEnvelope(codeOfStatus(statusCode), String((original as ErrorWithStatus).message)) };
  }
  return undefined;
}
