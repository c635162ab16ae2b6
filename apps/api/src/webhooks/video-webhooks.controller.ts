import { Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import type { VideoWebhooks, WebhookAttemptList, WebhookRetryAccepted } from '@magicvideo/shared';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { Owner } from '../auth/owner';
import { VIDEO_WEBHOOKS } from './webhook-tokens';

/** A video's webhook deliveries: every attempt, and a redelivery under the same webhook-id. Owner-only (404 otherwise). */
@Controller('v1/videos')
@UseGuards(ApiKeyGuard)
export class VideoWebhooksController {
  constructor(@Inject(VIDEO_WEBHOOKS) private readonly webhooks: VideoWebhooks) {}

  @Get(':id/webhooks')
  attempts(@Owner() owner: string, @Param('id') id: string): Promise<WebhookAttemptList> {
    return this.webhooks.attempts(owner, id);
  }

  @Post(':id/webhooks/:deliveryId/retry')
  @HttpCode(202)
  retry(@Owner() owner: string, @Param('id') id: string, @Param('deliveryId') deliveryId: string): Promise<WebhookRetryAccepted> {
    return this.webhooks.retry(owner, id, deliveryId);
  }
}
