import type { VideoResource } from '@magicvideo/shared/http-schemas';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, asApiError } from '../api/api-error';
import type { PlaygroundApi } from '../api/playground-api';
import { isFinalEvent, videoEventStream } from '../api/video-event-stream';
import { applyQueueUpdate, applyStreamEvent } from '../video/apply-stream-event';
import { ErrorMessage } from './error-message';
import { RequestParameters } from './request-parameters';
import { formatSeconds, StageTimeline } from './stage-timeline';
import { useNow } from './use-now';
import { VideoResult } from './video-result';
import { WebhookDeliveries } from './webhook-deliveries';

const FINISHED: ReadonlySet<VideoResource['status']> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);
/** While no preview exists, progress events also re-read the video, at most this often, to show it once written. */
const PREVIEW_RECHECK_MS = 1_500;

/**
 * One video's page: GET /v1/videos/{id}, then its SSE stream moves the timeline on live. The
 * video is read again at each stage boundary and at the end, for the preview and download URLs.
 */
export function VideoPage({ api, id, onError }: { api: PlaygroundApi; id: string; onError: (error: ApiError) => boolean }) {
  const [video, setVideo] = useState<VideoResource | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const [cancelling, setCancelling] = useState(false);
  /** why live updates stopped, while the stream reconnects */
  const [disconnected, setDisconnected] = useState<string | null>(null);
  /** counts the video's reads, so the webhook deliveries are read again with it */
  const [reads, setReads] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const running = video !== null && !FINISHED.has(video.status);
  const nowMs = useNow(500, running);

  useEffect(() => heading.current?.focus(), [id]);

  useEffect(() => {
    const controller = new AbortController();
    let lastRead = 0;
    let hasPreview = false;
    setVideo(null);
    setError(null);
    const read = async (): Promise<VideoResource> => {
      lastRead = Date.now();
      const fresh = await api.get(id);
      hasPreview = fresh.result?.preview !== undefined;
      if (!controller.signal.aborted) {
        setVideo(fresh);
        setReads((count) => count + 1);
      }
      return fresh;
    };
    const follow = async () => {
      const first = await read();
      if (FINISHED.has(first.status)) return;
      const onDisconnect = (reason: Error) => setDisconnected(reason.message);
      for await (const item of videoEventStream(api, id, controller.signal, onDisconnect)) {
        setDisconnected(null);
        if (item.kind === 'queue') {
          setVideo((current) => (current === null ? current : applyQueueUpdate(current, item.update)));
          continue;
        }
        const { event } = item;
        setVideo((current) => (current === null ? current : applyStreamEvent(current, event)));
        const boundary = event.event.type === 'stage.started' || event.event.type === 'stage.completed' || isFinalEvent(event);
        if (boundary || (!hasPreview && Date.now() - lastRead > PREVIEW_RECHECK_MS)) await read();
      }
    };
    follow().catch((caught: unknown) => {
      if (controller.signal.aborted) return;
      const apiError = asApiError(caught);
      if (!onError(apiError)) setError(apiError);
    });
    return () => controller.abort();
  }, [api, id, onError]);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      setVideo(await api.cancel(id));
    } catch (caught) {
      const apiError = asApiError(caught);
      if (!onError(apiError)) setCancelError(apiError);
    } finally {
      setCancelling(false);
    }
  };

  return (
    <article class="video-page" data-video-id={id}>
      <h2 ref={heading} tabIndex={-1}>
        {video === null ? `Video ${id}` : video.request.prompt}
      </h2>
      {error !== null && <ErrorMessage error={error} title="Could not follow this video." />}
      {video === null && error === null && <p>Loading…</p>}
      {video !== null && (
        <>
          <p class="status-line">
            {/* only the status and stage are announced; the ticking figures beside them are not */}
            <span role="status">
              Status: <strong data-status={video.status}>{video.status}</strong>
              {video.stage !== null && running && <> · {video.stage}</>}
            </span>{' '}
            · {Math.round(video.progress * 100)}% ·{' '}
            {video.started_at === null ? 'not started' : `elapsed ${formatSeconds((video.finished_at === null ? nowMs : Date.parse(video.finished_at)) - Date.parse(video.started_at))}`}
          </p>
          {video.status === 'queued' && video.queue !== null && (
            <p class="queue-line" data-queue-position={video.queue.position}>
              Position {video.queue.position} in the {video.queue.stage} queue
              {video.queue.estimated_start_at !== null && <> · expected to start around {new Date(video.queue.estimated_start_at).toLocaleTimeString()}</>}
            </p>
          )}
          {disconnected !== null && running && (
            <p class="notice" role="status">
              Live updates interrupted ({disconnected}); reconnecting…
            </p>
          )}
          <progress class="overall" max={1} value={video.progress} aria-label="Overall progress" />
          {running && (
            <div class="row">
              <button type="button" class="cancel" onClick={cancel} disabled={cancelling}>
                {cancelling ? 'Cancelling…' : 'Cancel video'}
              </button>
            </div>
          )}
          {cancelError !== null && <ErrorMessage error={cancelError} title="Not cancelled." />}
          {video.error !== null && (
            <div class="error" role="alert" data-error-code={video.error.code}>
              <p>
                <strong>The video {video.status === 'cancelled' ? 'was cancelled' : 'failed'}</strong>
                {video.error.stage !== undefined && <> in {video.error.stage}</>}: <code>{video.error.code}</code>: {video.error.message}
              </p>
            </div>
          )}
          <StageTimeline video={video} nowMs={nowMs} />
          {video.result?.preview !== undefined && (
            <figure class="preview">
              <img src={video.result.preview.url} alt="Preview: the key frames as an animated GIF" />
              <figcaption>Preview (key frames)</figcaption>
            </figure>
          )}
          {video.status === 'succeeded' && video.result !== null && <VideoResult result={video.result} />}
          <RequestParameters request={video.request} webhookUrl={video.webhook_url} apiOrigin={api.baseUrl} />
          {video.webhook_url !== null && <WebhookDeliveries api={api} videoId={video.id} readAgain={reads} onError={onError} />}
          <p class="meta">
            <small>
              id <code>{video.id}</code> · created {new Date(video.created_at).toLocaleString()}
            </small>
          </p>
        </>
      )}
    </article>
  );
}
