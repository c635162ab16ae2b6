import type { WebhookAttemptList } from '@magicvideo/shared/http-schemas';
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, asApiError } from '../api/api-error';
import type { PlaygroundApi } from '../api/playground-api';
import { ErrorMessage } from './error-message';

/**
 * The video's webhook delivery attempts (GET /v1/videos/{id}/webhooks), read again whenever
 * `readAgain` changes (the video page bumps it at stage boundaries and at the end) or on Refresh:
 * deliveries run after the events they carry, so the last ones come a moment after the video ends.
 */
export function WebhookDeliveries(props: { api: PlaygroundApi; videoId: string; readAgain: number; onError: (error: ApiError) => boolean }) {
  const { api, videoId, readAgain, onError } = props;
  const [attempts, setAttempts] = useState<WebhookAttemptList['data'] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [refreshes, setRefreshes] = useState(0);

  useEffect(() => {
    let current = true;
    api
      .webhookAttempts(videoId)
      .then((list) => {
        if (!current) return;
        setAttempts(list.data);
        setError(null);
      })
      .catch((caught: unknown) => {
        const apiError = asApiError(caught);
        if (current && !onError(apiError)) setError(apiError);
      });
    return () => {
      current = false;
    };
  }, [api, videoId, readAgain, refreshes, onError]);

  return (
    <section aria-labelledby="webhooks-heading">
      <h3 id="webhooks-heading">Webhook deliveries</h3>
      {error !== null && <ErrorMessage error={error} title="Could not read the deliveries." />}
      {attempts !== null && attempts.length === 0 && <p>No delivery attempted yet.</p>}
      {attempts !== null && attempts.length > 0 && (
        <ol class="deliveries">
          {attempts.map((attempt) => (
            <li key={`${attempt.delivery_id}-${attempt.attempt}`} data-type={attempt.type} data-outcome={attempt.outcome}>
              <code>{attempt.type}</code> <span class={`badge ${attempt.outcome === 'success' ? 'succeeded' : 'failed'}`}>{attempt.outcome}</span>{' '}
              <small>
                attempt {attempt.attempt} · {attempt.status_code === null ? 'no answer' : `HTTP ${attempt.status_code}`} · {Math.round(attempt.latency_ms)} ms
                {attempt.error !== null && <> · {attempt.error}</>}
              </small>
            </li>
          ))}
        </ol>
      )}
      <button type="button" onClick={() => setRefreshes((count) => count + 1)}>
        Refresh deliveries
      </button>
    </section>
  );
}
