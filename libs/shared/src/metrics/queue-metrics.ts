import type { Queue } from 'bullmq';
import { gaugeFamily } from './metric-family';

/** The BullMQ states a queue's depth is reported in. */
export const QUEUE_DEPTH_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'waiting-children'] as const;

/** prioritized jobs read per scrape for the oldest-waiting age (bounds the scrape's cost) */
const PRIORITIZED_SCAN = 500;

export type DepthSource = Pick<Queue, 'name' | 'getJobCounts' | 'getJobs'>;

/**
 * Queue depth by queue and state, and the age of each queue's oldest waiting job, read from
 * Redis when Prometheus scrapes. Registered in ONE process (the API), so the series are not
 * duplicated by every worker that could read the same queues.
 */
export function registerQueueDepthMetrics(queues: readonly DepthSource[], now: () => number = Date.now): void {
  gaugeFamily({
    name: 'magicvideo_queue_jobs',
    help: 'Jobs in a BullMQ queue by state, read at scrape time.',
    labelNames: ['queue', 'state'],
    async collect() {
      const counts = await Promise.all(queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...QUEUE_DEPTH_STATES) })));
      for (const { queue, counts: byState } of counts) {
        for (const state of QUEUE_DEPTH_STATES) this.labels({ queue, state }).set(byState[state] ?? 0);
      }
    },
  });
  gaugeFamily({
    name: 'magicvideo_queue_oldest_waiting_seconds',
    help: "Age of a queue's oldest waiting job, plain or prioritized (from its creation; a flow's later stage is created at submission), 0 when none waits.",
    labelNames: ['queue'],
    async collect() {
      const oldest = await Promise.all(
        queues.map(async (queue) => {
          // asc: the wait list's oldest first (BullMQ pushes new jobs to its other end). Every stage
          // job carries a priority (issue 15), so most wait in the prioritized set, ordered by
          // priority, not age: its first PRIORITIZED_SCAN jobs are read and the oldest taken.
          const [listed] = await queue.getJobs(['wait'], 0, 0, true);
          const prioritized = await queue.getJobs(['prioritized'], 0, PRIORITIZED_SCAN - 1, true);
          const created = [listed, ...prioritized].flatMap((job) => (job === undefined ? [] : [job.timestamp]));
          const ageSeconds = created.length === 0 ? 0 : Math.max(0, now() - Math.min(...created)) / 1000;
          return { queue: queue.name, ageSeconds };
        }),
      );
      for (const { queue, ageSeconds } of oldest) this.labels({ queue }).set(ageSeconds);
    },
  });
}
