import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The queue UI's key check. A browser asks for it with Basic auth (any user name, the key as the
 * password: the browser then sends it on every asset and API call of the UI); scripts may send
 * `Authorization: Bearer <key>`. Compared as SHA-256 digests in constant time.
 */
export function presentedAdminKey(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const [scheme, value] = authorization.trim().split(/\s+/, 2);
  if (value === undefined || scheme === undefined) return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

export function isAdminKey(presented: string | undefined, adminKey: string): boolean {
  if (presented === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(adminKey));
}
