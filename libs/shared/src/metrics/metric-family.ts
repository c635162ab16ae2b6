import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * The default registry holds one metric per name per process. Metric files are imported from
 * several entry points (and re-evaluated by test runners), so each family is registered on first
 * use and found again afterwards instead of throwing "already registered".
 */
function existing<T>(name: string): T | undefined {
  return register.getSingleMetric(name) as T | undefined;
}

export function counterFamily<L extends string>(config: { name: string; help: string; labelNames: readonly L[] }): Counter<L> {
  return existing<Counter<L>>(config.name) ?? new Counter<L>(config);
}

export function gaugeFamily<L extends string>(config: {
  name: string;
  help: string;
  labelNames: readonly L[];
  collect?: (this: Gauge<L>) => Promise<void> | void;
}): Gauge<L> {
  return existing<Gauge<L>>(config.name) ?? new Gauge<L>(config);
}

export function histogramFamily<L extends string>(config: { name: string; help: string; labelNames: readonly L[]; buckets: number[] }): Histogram<L> {
  return existing<Histogram<L>>(config.name) ?? new Histogram<L>(config);
}
