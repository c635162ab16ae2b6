import { InvalidCancelAfter, InvalidPrefer } from './api-errors';

/**
 * The request headers of issue 15 that shape how a video is run, parsed once at the edge:
 * `Cancel-After` (a duration) and `Prefer: wait=N` (RFC 7240).
 */

/** The longest `Prefer: wait` the API honours, in seconds (the bound). */
export const MAX_PREFER_WAIT_SECONDS = 60;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * `Cancel-After: 30s` (also `500ms`, `5m`, `1h`, or bare seconds) → milliseconds; undefined when
 * the header is absent. Zero, a malformed value or one past `maxMs` is refused.
 */
export function parseCancelAfter(value: string | undefined, maxMs: number): number | undefined {
  if (value === undefined) return undefined;
  const match = DURATION.exec(value.trim());
  const amount = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1_000) : Number.NaN;
  if (!Number.isFinite(amount) || amount <= 0) {
    throw new InvalidCancelAfter(`Cancel-After must be a positive duration such as 30s, 500ms, 5m or 1h, got ${JSON.stringify(value)}`);
  }
  if (amount > maxMs) throw new InvalidCancelAfter(`Cancel-After may be at most ${Math.floor(maxMs / 1000)} s (the server's maximum)`);
  return Math.round(amount);
}

/**
 * The `wait` preference of a `Prefer` header in seconds; undefined when the header or the
 * preference is absent. Other preferences are ignored, as RFC 7240 asks.
 */
export function parsePreferWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  for (const preference of value.split(',')) {
    const [name = '', ...rest] = preference.split(';')[0]?.split('=') ?? [];
    if (name.trim().toLowerCase() !== 'wait') continue;
    const raw = rest.join('=').trim().replace(/^"(.*)"$/, '$1');
    if (!/^\d+$/.test(raw) || Number(raw) > MAX_PREFER_WAIT_SECONDS) {
      throw new InvalidPrefer(`Prefer: wait must be a whole number of seconds from 0 to ${MAX_PREFER_WAIT_SECONDS}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  }
  return undefined;
}
