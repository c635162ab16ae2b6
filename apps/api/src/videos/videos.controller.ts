import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  type IdempotencyStore,
  type Logger,
  parsePreferWait,
  RateLimited,
  type RateLimiter,
  rateLimitHeaders,
  requestFingerprint,
  type VideoList,
  type VideoResource,
  type VideoService,
} from '@magicvideo/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { Owner } from '../auth/owner';
import { IDEMPOTENCY_STORE, LOGGER, RATE_LIMITER, SHUTDOWN_SIGNAL, SUBMISSION_LIMITS, VIDEO_SERVICE } from '../tokens';
import { writeEventStream } from './event-stream';
import { idempotencyKeyOf, respondIdempotently } from './idempotent-response';
import { readSubmission, type SubmissionLimits } from './video-submission';

const VIDEOS_PATH = '/v1/videos';

/** The header's value when sent once; a repeated header is ambiguous and counts as absent. */
function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/** /v1/videos: thin HTTP shells over VideoService (libs/shared/src/api/video-service.ts). */
@Controller('v1/videos')
@UseGuards(ApiKeyGuard)
export class VideosController {
  constructor(
    @Inject(VIDEO_SERVICE) private readonly videos: VideoService,
    @Inject(IDEMPOTENCY_STORE) private readonly idempotency: IdempotencyStore,
    @Inject(RATE_LIMITER) private readonly rateLimiter: RateLimiter,
    @Inject(SUBMISSION_LIMITS) private readonly limits: SubmissionLimits,
    @Inject(SHUTDOWN_SIGNAL) private readonly shutdownSignal: AbortSignal,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Rate limit first (before the upload is read), then the body, then the idempotent submit. */
  @Post()
  async create(@Owner() owner: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const decision = await this.rateLimiter.consume(owner);
    if (!decision.allowed) throw new RateLimited(decision);
    void reply.headers(rateLimitHeaders(decision));
    const key = idempotencyKeyOf(request.headers);
    const waitSeconds = parsePreferWait(singleHeader(request.headers.prefer));
    const cancelAfter = singleHeader(request.headers['cancel-after']);
    const submission = await readSubmission(request, this.limits);
    const fingerprint = requestFingerprint('POST', VIDEOS_PATH, submission.fingerprintSource);
    const response = await respondIdempotently(this.idempotency, owner, key, fingerprint, async () => {
      const accepted = await this.videos.submit(owner, submission.body, submission.init, cancelAfter === undefined ? {} : { cancelAfter });
      const headers: Record<string, string> = { Location: accepted.links.self };
      if (waitSeconds === undefined) return { statusCode: 202, headers, body: accepted };
      // Prefer: wait (RFC 7240): 201 with the ended video if it ends in time, else the usual 202; the id is in both
      headers['Preference-Applied'] = `wait=${waitSeconds}`;
      const ended = await this.videos.waitForEnd(owner, accepted.id, waitSeconds * 1000, this.untilClientLeaves(reply));
      return ended === undefined ? { statusCode: 202, headers, body: accepted } : { statusCode: 201, headers, body: ended };
    });
    void reply.code(response.statusCode).headers(response.headers).send(response.body);
  }

  /** Runs a failed, cancelled or expired video again under the same id, from its first unfinished stage (202). */
  @Post(':id/retry')
  @HttpCode(202)
  retry(@Owner() owner: string, @Param('id') id: string, @Req() request: FastifyRequest): Promise<VideoResource> {
    const cancelAfter = singleHeader(request.headers['cancel-after']);
    return this.videos.retry(owner, id, cancelAfter === undefined ? {} : { cancelAfter });
  }

  @Get()
  list(@Owner() owner: string, @Query() query: Record<string, unknown>): Promise<VideoList> {
    return this.videos.list(owner, query);
  }

  @Get(':id')
  get(@Owner() owner: string, @Param('id') id: string): Promise<VideoResource> {
    return this.videos.get(owner, id);
  }

  @Delete(':id')
  @HttpCode(202)
  cancel(@Owner() owner: string, @Param('id') id: string): Promise<VideoResource> {
    return this.videos.cancel(owner, id);
  }

  /** Aborted when the client goes away before the answer, or the server starts shutting down. */
  private untilClientLeaves(reply: FastifyReply): AbortSignal {
    const clientGone = new AbortController();
    reply.raw.once('close', () => clientGone.abort());
    return AbortSignal.any([clientGone.signal, this.shutdownSignal]);
  }

  /** Server-Sent Events, resumable with Last-Event-ID (or ?last_event_id= for clients that cannot set headers). */
  @Get(':id/events')
  async events(
    @Owner() owner: string,
    @Param('id') id: string,
    @Query('last_event_id') lastEventIdQuery: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const lastEventId = singleHeader(request.headers['last-event-id']) ?? lastEventIdQuery;
    const clientGone = new AbortController();
    const signal = AbortSignal.any([clientGone.signal, this.shutdownSignal]);
    // errors up to here (not found, bad Last-Event-ID) still answer with the error envelope
    const items = await this.videos.events(owner, id, lastEventId === '' ? undefined : lastEventId, signal);
    reply.hijack();
    reply.raw.on('close', () => clientGone.abort());
    // gone while the backlog was read: 'close' has been and gone
    if (reply.raw.destroyed) clientGone.abort();
    await writeEventStream(reply.raw, items, signal, this.logger);
  }
}
