import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash, type Route } from './hash-route';

describe('hash routes', () => {
  it('round-trips every page through the hash', () => {
    const routes: Route[] = [{ page: 'new' }, { page: 'history' }, { page: 'video', id: 'vid_01J9 x/y' }];
    for (const route of routes) expect(parseRoute(routeHash(route))).toEqual(route);
  });

  it('opens the new-video form for an empty or unknown hash', () => {
    expect(parseRoute('')).toEqual({ page: 'new' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'new' });
    expect(parseRoute('#/videos/')).toEqual({ page: 'new' });
  });
});
