import { type VideoList, videoSchema } from '@magicvideo/shared/http-schemas';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, asApiError } from '../api/api-error';
import type { PlaygroundApi, VideoStatus } from '../api/playground-api';
import { routeHash } from '../hash-route';
import { ErrorMessage } from './error-message';

/** The statuses the list can be filtered by, read from the API's schema. */
const STATUSES = videoSchema.shape.status.options;
const PAGE_SIZE = 10;

/**
 * The key's videos, newest first (GET /v1/videos), a page at a time. The API pages forward with
 * a cursor; the cursors of the pages already seen are kept so "Newer" can go back.
 */
export function HistoryPage({ api, onError }: { api: PlaygroundApi; onError: (error: ApiError) => boolean }) {
  const [status, setStatus] = useState<VideoStatus | ''>('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<VideoList | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  /** bumped by Refresh: the same first page, read again for videos added since */
  const [reads, setReads] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => heading.current?.focus(), []);

  useEffect(() => {
    let current = true;
    setError(null);
    api
      .list({ limit: PAGE_SIZE, cursor, status: status === '' ? undefined : status })
      .then((list) => current && setPage(list))
      .catch((caught: unknown) => {
        const apiError = asApiError(caught);
        if (current && !onError(apiError)) setError(apiError);
      });
    return () => {
      current = false;
    };
  }, [api, cursor, status, reads, onError]);

  const filter = (next: VideoStatus | '') => {
    setStatus(next);
    setCursors([undefined]);
  };
  const refresh = () => {
    setCursors([undefined]);
    setReads((count) => count + 1);
  };

  return (
    <section class="history" aria-labelledby="history-heading">
      <h2 id="history-heading" ref={heading} tabIndex={-1}>
        History
      </h2>
      <label for="status-filter">Status</label>
      <select id="status-filter" value={status} onChange={(event) => filter(event.currentTarget.value as VideoStatus | '')}>
        <option value="">all</option>
        {STATUSES.map((each) => (
          <option key={each} value={each}>
            {each}
          </option>
        ))}
      </select>
      {error !== null && <ErrorMessage error={error} title="Could not list the videos." />}
      {page !== null && page.data.length === 0 && <p>No videos{status === '' ? '' : ` with status ${status}`}.</p>}
      {page !== null && page.data.length > 0 && (
        <ol class="history-list" aria-label={`Videos, page ${cursors.length}`}>
          {page.data.map((video) => (
            <li key={video.id} data-video-id={video.id} data-status={video.status}>
              <a href={routeHash({ page: 'video', id: video.id })}>{video.request.prompt}</a>
              <span class={`badge ${video.status}`}>{video.status}</span>
              <small>
                <time dateTime={video.created_at}>{new Date(video.created_at).toLocaleString()}</time> · seed {video.seed}
              </small>
            </li>
          ))}
        </ol>
      )}
      <nav class="row" aria-label="Pages">
        <button type="button" onClick={refresh}>
          Refresh
        </button>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={page?.next_cursor == null} onClick={() => page?.next_cursor != null && setCursors([...cursors, page.next_cursor])}>
          Older
        </button>
      </nav>
    </section>
  );
}
