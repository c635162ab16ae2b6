import { useState } from 'preact/hooks';
import { ApiError, asApiError } from '../api/api-error';
import { PlaygroundApi } from '../api/playground-api';
import { ErrorMessage } from './error-message';

/**
 * Asks for the API key and checks it with one authenticated call (GET /v1/videos?limit=1)
 * before keeping it, so a wrong key is told at once rather than at the first submit.
 */
export function KeyForm({ onAccepted, refusal }: { onAccepted: (api: PlaygroundApi) => void; refusal: ApiError | null }) {
  const [key, setKey] = useState('');
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<ApiError | null>(refusal);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (trimmed === '') {
      setError(new ApiError('MissingKey', 'paste an API key first', 0));
      return;
    }
    setChecking(true);
    const api = new PlaygroundApi(location.origin, trimmed);
    try {
      await api.list({ limit: 1 });
      onAccepted(api);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setChecking(false);
    }
  };

  return (
    <form class="key-form" onSubmit={submit} aria-describedby="key-help">
      <h2>API key</h2>
      <p id="key-help">
        The playground calls the same API as any client, with your key. It is kept for this browser session only.
      </p>
      {error !== null && <ErrorMessage error={error} title={error.isUnauthenticated ? 'This API key was refused.' : 'The key could not be checked.'} />}
      <label for="api-key">API key</label>
      <div class="row">
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-invalid={error?.isUnauthenticated === true}
          autofocus
        />
        <button type="submit" disabled={checking}>
          {checking ? 'Checking…' : 'Use this key'}
        </button>
      </div>
    </form>
  );
}
