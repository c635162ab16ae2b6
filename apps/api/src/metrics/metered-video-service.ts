import { recordVideoFinished, type VideoAccepted, type VideoResource, VideoService, videosSubmitted } from '@magicvideo/shared';

/**
 * The API's video service, counting what happens in this process: a submission accepted (an
 * idempotent replay answers from the store and never reaches submit), and a cancel, which is
 * where a video's status turns `cancelled` (a cancel of a finished video throws, so each video is
 * counted once). Workers count the videos they finish.
 */
export class MeteredVideoService extends VideoService {
  override async submit(...args: Parameters<VideoService['submit']>): Promise<VideoAccepted> {
    const accepted = await super.submit(...args);
    videosSubmitted.inc();
    return accepted;
  }

  override async cancel(...args: Parameters<VideoService['cancel']>): Promise<VideoResource> {
    const cancelled = await super.cancel(...args);
    recordVideoFinished({ status: 'cancelled', createdAt: cancelled.created_at, finishedAt: cancelled.finished_at ?? new Date().toISOString() });
    return cancelled;
  }
}
