import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { errorEnvelope, httpErrorResponse, type HttpErrorResponse, type Logger } from '@magicvideo/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { frameworkErrorResponse } from './framework-errors';

/** Every error as the API answers it: its own codes, then the framework's, else a 500 (logged, details kept out of the answer). */
export function errorResponseOf(error: unknown): HttpErrorResponse {
  return (
    httpErrorResponse(error) ??
    frameworkErrorResponse(error) ?? {
      statusCode: 500,
      headers: {},
      body: errorEnvelope('InternalError', 'the server failed to answer; try again later'),
    }
  );
}

/**
 * One error envelope for every 4xx and 5xx answer (`{ error: { code, message, field?, fields? } }`),
 * Nest's and Fastify's own errors included: Nest passes body-parser errors and unknown routes
 * through the global filters too.
 */
@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const answer = errorResponseOf(error);
    if (answer.statusCode >= 500) {
      this.logger.error({ err: error, method: request.method, url: request.url }, 'request failed');
    }
    if (reply.sent || reply.raw.headersSent) {
      // an event stream already under way: nothing can be answered any more, only ended
      reply.raw.destroy();
      return;
    }
    void reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
  }
}
