import { useCallback, useState } from 'preact/hooks';
import type { ApiError } from './api/api-error';
import { PlaygroundApi } from './api/playground-api';
import { CreateVideoPage } from './components/create-video-page';
import { HistoryPage } from './components/history-page';
import { KeyForm } from './components/key-form';
import { useHashRoute } from './components/use-hash-route';
import { VideoPage } from './components/video-page';
import { routeHash } from './hash-route';
import { forgetSessionKey, readSessionKey, saveSessionKey } from './session-key';

function apiOfSession(): PlaygroundApi | null {
  const key = readSessionKey();
  return key === null ? null : new PlaygroundApi(location.origin, key);
}

/** The playground: the API key first, then the new-video form, a video's page or the history (hash routes). */
export function App() {
  const [api, setApi] = useState<PlaygroundApi | null>(apiOfSession);
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const route = useHashRoute();

  const accept = (accepted: PlaygroundApi) => {
    saveSessionKey(accepted.apiKey);
    setRefusal(null);
    setApi(accepted);
  };
  const forget = () => {
    forgetSessionKey();
    setApi(null);
  };
  // A key refused later (revoked, or the API restarted with other keys) sends the user back to the key form.
  const onError = useCallback((error: ApiError): boolean => {
    if (!error.isUnauthenticated) return false;
    forgetSessionKey();
    setRefusal(error);
    setApi(null);
    return true;
  }, []);

  return (
    <>
      <header>
        <h1>MagicVideo playground</h1>
        {api !== null && (
          <nav aria-label="Playground">
            <a href={routeHash({ page: 'new' })} aria-current={route.page === 'new' ? 'page' : undefined}>
              New video
            </a>
            <a href={routeHash({ page: 'history' })} aria-current={route.page === 'history' ? 'page' : undefined}>
              History
            </a>
            <button type="button" class="link" onClick={forget}>
              Forget key
            </button>
          </nav>
        )}
      </header>
      <main>
        {api === null && <KeyForm onAccepted={accept} refusal={refusal} />}
        {api !== null && route.page === 'new' && <CreateVideoPage api={api} onError={onError} />}
        {api !== null && route.page === 'video' && <VideoPage key={route.id} api={api} id={route.id} onError={onError} />}
        {api !== null && route.page === 'history' && <HistoryPage api={api} onError={onError} />}
      </main>
    </>
  );
}
