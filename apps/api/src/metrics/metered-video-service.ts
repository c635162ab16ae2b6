import { counterFamily, recordVideoFinished, type VideoAccepted, type VideoResource, VideoService, videosSubmitted } from '@magicvideo/shared';

const videoRetries = counterFamily({
  name: 'magicvideo_video_retries_total',
  help: 'Videos queued again by POST /v1/videos/{id}/retry, by the stage the new run starts at.',
  labelNames: ['stage'],
});

/**
 * The API's video service, counting what happens in this process: a submission accepted (an
 * idempotent replay answers from the store and never reaches submit), and a cancel, which is
 * where a video's status turns `cancelled` (a cancel of a finished video throws, so each video is
 * counted once), and a retry. Workers count the videos they finish.
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

  override async retry(...args: Parameters<VideoService['retry']>): Promise<VideoResource> {
    const retried = await super.retry(...args);
    videoRetries.labels({ stage: retried.runs.at(-1)?.from_stage ?? 'keyframe' }).inc();
    return retried;
  }
}
