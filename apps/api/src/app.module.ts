import { type DynamicModule, Module } from '@nestjs/common';
import type { ApiKeyRegistry, DependencyCheck, IdempotencyStore, Logger, RateLimiter, VideoService, VideoWebhooks } from '@magicvideo/shared';
import { ApiKeyGuard } from './auth/api-key.guard';
import { HealthController, READINESS_CHECKS } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { API_KEY_REGISTRY, IDEMPOTENCY_STORE, LOGGER, RATE_LIMITER, SHUTDOWN_SIGNAL, SUBMISSION_LIMITS, VIDEO_SERVICE } from './tokens';
import type { SubmissionLimits } from './videos/video-submission';
import { VideosController } from './videos/videos.controller';
import { VideoWebhooksController } from './webhooks/video-webhooks.controller';
import { VIDEO_WEBHOOKS } from './webhooks/webhook-tokens';

/** The clients the API's modules need, built in main.ts from the validated config. */
export interface AppDependencies {
  readinessChecks: Record<string, DependencyCheck>;
  videoService: VideoService;
  videoWebhooks: VideoWebhooks;
  apiKeys: ApiKeyRegistry;
  idempotency: IdempotencyStore;
  rateLimiter: RateLimiter;
  submissionLimits: SubmissionLimits;
  shutdownSignal: AbortSignal;
  logger: Logger;
}

@Module({})
export class AppModule {
  static register(dependencies: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, MetricsController, VideosController, VideoWebhooksController],
      providers: [
        { provide: READINESS_CHECKS, useValue: dependencies.readinessChecks },
        { provide: VIDEO_SERVICE, useValue: dependencies.videoService },
        { provide: VIDEO_WEBHOOKS, useValue: dependencies.videoWebhooks },
        { provide: API_KEY_REGISTRY, useValue: dependencies.apiKeys },
        { provide: IDEMPOTENCY_STORE, useValue: dependencies.idempotency },
        { provide: RATE_LIMITER, useValue: dependencies.rateLimiter },
        { provide: SUBMISSION_LIMITS, useValue: dependencies.submissionLimits },
        { provide: SHUTDOWN_SIGNAL, useValue: dependencies.shutdownSignal },
        { provide: LOGGER, useValue: dependencies.logger },
        ApiKeyGuard,
      ],
    };
  }
}
