import { errorEnvelopeSchema } from '@magicvideo/shared/http-schemas';

/** One problem with a request field, as the API's error envelope names it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An answer the page could not use: the API's error envelope (its code and message), or the
 * page's own codes for what never reached an envelope (NetworkError, UnexpectedAnswer).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** the HTTP status, or 0 when no answer came */
    readonly status: number,
    readonly fields: readonly FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** A refused or missing API key: the page asks for the key again. */
  get isUnauthenticated(): boolean {
    return this.status === 401;
  }
}

/** The ApiError of a non-2xx answer, from its error envelope when it has one. */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return new ApiError('UnexpectedAnswer', `HTTP ${response.status}: the answer is not JSON (${String(error)})`, response.status);
  }
  const envelope = errorEnvelopeSchema.safeParse(body);
  if (!envelope.success) return new ApiError('UnexpectedAnswer', `HTTP ${response.status}: ${text.slice(0, 300)}`, response.status);
  const { code, message, field, fields } = envelope.data.error;
  const problems = fields ?? (field === undefined ? [] : [{ field, message }]);
  return new ApiError(code, message, response.status, problems);
}

/** Any thrown value as an ApiError, so every failure shows a code and a message. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) return new ApiError('NetworkError', `the API could not be reached: ${error.message}`, 0);
  return new ApiError('NetworkError', String(error), 0);
}
