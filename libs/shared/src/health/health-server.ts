import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { checkReadiness, type DependencyCheck } from './readiness';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` (200 while the process runs), `/readyz` (200 when every dependency answers, else
 * 503 naming the failures) and, given `metrics`, `/metrics` (Prometheus' text format) on plain
 * node:http, for processes without an HTTP framework.
 */
export async function startHealthServer(options: {
  port: number;
  checks: Record<string, DependencyCheck>;
  logger: Logger;
  host?: string;
  /** the `/metrics` body (e.g. renderMetrics); no `/metrics` route without it */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const path = new URL(request.url ?? '/', 'http://health').pathname;
    if (request.method !== 'GET') return send(405, { error: 'MethodNotAllowed' });
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      void checkReadiness(options.checks).then((report) => send(report.status === 'ok' ? 200 : 503, report));
      return;
    }
    const { metrics } = options;
    if (path === '/metrics' && metrics !== undefined) {
      metrics().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) => {
          options.logger.error({ err: error }, 'metrics could not be collected');
          send(500, { error: 'MetricsUnavailable' });
        },
      );
      return;
    }
    send(404, { error: 'NotFound' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'health server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
