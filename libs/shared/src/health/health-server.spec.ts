import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger';
import { renderMetrics } from '../metrics/process-metrics';
import { videosSubmitted } from '../metrics/video-metrics';
import { startHealthServer } from './health-server';

const logger = createLogger({ service: 'health-server-test', level: 'silent', nodeEnv: 'test' });

describe('startHealthServer', () => {
  it('serves the registry on /metrics in Prometheus text format when given metrics', async () => {
    videosSubmitted.inc(0);
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', checks: {}, logger, metrics: renderMetrics });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await response.text()).toContain('# TYPE magicvideo_videos_submitted_total counter');
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('has no /metrics without them, and answers 500 when collecting fails', async () => {
    const plain = await startHealthServer({ port: 0, host: '127.0.0.1', checks: {}, logger });
    try {
      expect((await fetch(`http://127.0.0.1:${plain.port}/metrics`)).status).toBe(404);
    } finally {
      await plain.close();
    }
    const failing = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      checks: {},
      logger,
      metrics: () => Promise.reject(new Error('a collect() threw')),
    });
    try {
      const response = await fetch(`http://127.0.0.1:${failing.port}/metrics`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'MetricsUnavailable' });
    } finally {
      await failing.close();
    }
  });
});
