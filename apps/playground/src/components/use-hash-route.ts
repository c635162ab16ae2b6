import { useEffect, useState } from 'preact/hooks';
import { parseRoute, type Route } from '../hash-route';

/** The route in location.hash, updated on every hashchange (links, back and forward). */
export function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
