import { TERMINAL_STATUSES, type VideoRecord, type VideoStatus } from '../jobs/video-record';
import { LONG_WORK_BUCKETS_SECONDS } from './buckets';
import { counterFamily, histogramFamily } from './metric-family';

/**
 * Videos as users see them. A video is counted finished exactly once, by the process whose
 * record update made its status terminal (the worker of its last or failing stage, the API's
 * cancel), so summing over processes never counts one twice.
 */
export const videosSubmitted = counterFamily({
  name: 'magicvideo_videos_submitted_total',
  help: 'Videos accepted by POST /v1/videos (idempotent replays not counted).',
  labelNames: [],
});

export const videosFinished = counterFamily({
  name: 'magicvideo_videos_finished_total',
  help: 'Videos that reached a terminal status, by status.',
  labelNames: ['status'],
});

export const videoEndToEndSeconds = histogramFamily({
  name: 'magicvideo_video_end_to_end_seconds',
  help: 'From submission to terminal status, by status.',
  labelNames: ['status'],
  buckets: LONG_WORK_BUCKETS_SECONDS,
});

/** Zero series for every terminal status, so a ratio over them exists before the first failure. */
export function initialiseVideoMetrics(): void {
  videosSubmitted.inc(0);
  for (const status of TERMINAL_STATUSES) {
    videosFinished.labels({ status }).inc(0);
    videoEndToEndSeconds.zero({ status });
  }
}

/** Counts a video whose status this process just made terminal, and its end-to-end time. */
export function recordVideoFinished(record: Pick<VideoRecord, 'status' | 'createdAt' | 'finishedAt'>): void {
  const status: VideoStatus = record.status;
  videosFinished.labels({ status }).inc();
  const finishedAt = record.finishedAt === undefined ? Date.now() : Date.parse(record.finishedAt);
  videoEndToEndSeconds.labels({ status }).observe(Math.max(0, finishedAt - Date.parse(record.createdAt)) / 1000);
}
