/**
 * Delay before retry number `attemptsMade` (1 after the first failure): exponential from
 * `baseMs` (×4 per retry), capped at `maxMs`, with jitter over the upper half of that ceiling,
 * so receivers coming back from an outage are not hit by every retry at the same moment, and
 * the schedule still spans what it promises: with the defaults (12 attempts, 10 s base, 6 h cap)
 * the retries spread over about a day (10 s, 40 s, 2.7 min, 11 min, 43 min, 2.8 h, then 6 h × 5,
 * each drawn from [½, 1) of that).
 */
export interface WebhookBackoff {
  baseMs: number;
  maxMs: number;
}

const GROWTH = 4;

export function webhookRetryDelayMs(attemptsMade: number, backoff: WebhookBackoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, attemptsMade - 1), 40);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * GROWTH ** exponent);
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}
