/** The page's places, kept in location.hash so a video's page can be reopened, bookmarked and gone back to. */
export type Route = { page: 'new' } | { page: 'video'; id: string } | { page: 'history' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const video = /^\/videos\/([^/?#]+)$/.exec(path);
  if (video?.[1] !== undefined) return { page: 'video', id: decodeURIComponent(video[1]) };
  if (path === '/history') return { page: 'history' };
  return { page: 'new' };
}

export function routeHash(route: Route): string {
  switch (route.page) {
    case 'video':
      return `#/videos/${encodeURIComponent(route.id)}`;
    case 'history':
      return '#/history';
    case 'new':
      return '#/';
  }
}
