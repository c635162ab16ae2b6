import { HTTP_BUCKETS_SECONDS } from './buckets';
import { histogramFamily } from './metric-family';

export const httpRequestSeconds = histogramFamily({
  name: 'magicvideo_http_request_duration_seconds',
  help: "HTTP requests by route template, method and status class (2xx, 4xx, 5xx); a request that matched no route is 'unmatched'.",
  labelNames: ['route', 'method', 'status_class'],
  buckets: HTTP_BUCKETS_SECONDS,
});

/** `404` → `4xx`: the class keeps the label bounded. */
export function statusClass(statusCode: number): string {
  return `${Math.floor(statusCode / 100)}xx`;
}

export function recordHttpRequest(request: { route: string | undefined; method: string; statusCode: number; seconds: number }): void {
  httpRequestSeconds.labels({ route: request.route ?? 'unmatched', method: request.method, status_class: statusClass(request.statusCode) }).observe(request.seconds);
}
