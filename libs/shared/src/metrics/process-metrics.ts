import { collectDefaultMetrics, register } from 'prom-client';

/** Every metric of this project starts with it (Prometheus naming: one prefix per application). */
export const METRIC_PREFIX = 'magicvideo_';

let defaultMetricsCollected = false;

/**
 * Node's process metrics (CPU, memory, event-loop lag, GC) in the default registry, once per
 * process: a second `collectDefaultMetrics()` would register the same names again and throw.
 */
export function collectProcessMetrics(): void {
  if (defaultMetricsCollected) return;
  defaultMetricsCollected = true;
  collectDefaultMetrics({ prefix: METRIC_PREFIX });
}

/** A `/metrics` answer: the default registry in Prometheus' text format. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}
