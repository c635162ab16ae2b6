import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type WebhookKeySettings, webhookKeyFileFieldsSchema } from '../webhooks/webhook-settings';

/** A client's API key as the server keeps it: an id for logs and ownership, and the key's hash only. */
export interface ApiKeyEntry {
  id: string;
  /** Lowercase hex of sha256(key). */
  sha256: string;
  /** signing secrets and the default URL and event filter of its webhooks (keys file only) */
  webhook?: WebhookKeySettings;
}

/** A malformed API_KEYS value or keys file. Never carries a key in clear. */
export class InvalidApiKeysError extends Error {
  readonly code = 'InvalidApiKeys';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidApiKeysError';
  }
}

/** Ids appear in logs, metrics labels and Redis keys, so they are short and plain. */
const API_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const SHA256_HEX_PATTERN = /^[0-9a-fA-F]{64}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `"team-a:secret,team-b:other"` → hashed entries. Splits at the first `:`, so a key may contain `:`. */
export function parseApiKeysVariable(value: string): ApiKeyEntry[] {
  const pairs = value.split(',').map((pair) => pair.trim());
  const entries = pairs.map((pair, index) => {
    const colon = pair.indexOf(':');
    if (colon === -1) throw new InvalidApiKeysError(`pair ${index + 1} is not of the form id:key`);
    const id = pair.slice(0, colon);
    const key = pair.slice(colon + 1);
    checkId(id, `pair ${index + 1}`);
    if (key.length === 0) throw new InvalidApiKeysError(`pair ${index + 1} (${id}) has an empty key`);
    return { id, sha256: hashApiKey(key) };
  });
  return checkedEntries(entries);
}

const apiKeysFileSchema = z.array(
  z.union([
    z.strictObject({ id: z.string(), sha256: z.string().regex(SHA256_HEX_PATTERN, 'expected 64 hex digits'), ...webhookKeyFileFieldsSchema }),
    z.strictObject({ id: z.string(), key: z.string().min(1), ...webhookKeyFileFieldsSchema }),
  ]),
);

/**
 * The keys file: `[{ "id": "team-a", "sha256": "<hex>" }]`, or `"key"` in clear for development;
 * optionally per key `webhook_secrets` (`["whsec_new", "whsec_old"]` during a rotation),
 * `webhook_url` and `webhook_events` (the defaults of videos whose request names none).
 */
export function parseApiKeysFile(json: string): ApiKeyEntry[] {
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch {
    // V8's message quotes the text around the fault, which may be a key in clear: say less.
    throw new InvalidApiKeysError('not valid JSON');
  }
  const parsed = apiKeysFileSchema.safeParse(document);
  if (!parsed.success) {
    // Issues name paths and expectations, never the values, so no key leaks into the message.
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? ` at [${first.path.join('.')}]` : '';
    throw new InvalidApiKeysError(`expected [{ "id", "sha256" } | { "id", "key" }]${where} (each optionally with the webhook fields of docs/webhooks.md)`);
  }
  const entries = parsed.data.map((item, index) => {
    checkId(item.id, `entry ${index + 1}`);
    const sha256 = 'sha256' in item ? item.sha256.toLowerCase() : hashApiKey(item.key);
    if (item.webhook_secrets === undefined) {
      if (item.webhook_url !== undefined || item.webhook_events !== undefined) {
        throw new InvalidApiKeysError(`entry ${index + 1}: webhook_url and webhook_events need webhook_secrets`);
      }
      return { id: item.id, sha256 };
    }
    const webhook: WebhookKeySettings = {
      secrets: item.webhook_secrets,
      ...(item.webhook_url === undefined ? {} : { url: item.webhook_url }),
      ...(item.webhook_events === undefined ? {} : { events: item.webhook_events }),
    };
    return { id: item.id, sha256, webhook };
  });
  return checkedEntries(entries);
}

/** Merges entries from several sources; ids and keys must stay unique across them. */
export function mergeApiKeyEntries(...sources: ApiKeyEntry[][]): ApiKeyEntry[] {
  return checkedEntries(sources.flat());
}

function checkId(id: string, where: string): void {
  if (!API_KEY_ID_PATTERN.test(id)) {
    throw new InvalidApiKeysError(`${where}: id ${JSON.stringify(id)} must be 1-64 of A-Z a-z 0-9 . _ -`);
  }
}

function checkedEntries(entries: ApiKeyEntry[]): ApiKeyEntry[] {
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const { id, sha256 } of entries) {
    if (ids.has(id)) throw new InvalidApiKeysError(`id ${JSON.stringify(id)} appears twice`);
    // One key for two ids would make the owner of a request ambiguous.
    if (hashes.has(sha256)) throw new InvalidApiKeysError(`id ${JSON.stringify(id)} reuses another id's key`);
    ids.add(id);
    hashes.add(sha256);
  }
  return entries;
}

/** Authenticates presented keys against hashed entries. */
export class ApiKeyRegistry {
  private readonly digests: ReadonlyArray<{ id: string; digest: Buffer }>;

  constructor(entries: ApiKeyEntry[]) {
    this.digests = checkedEntries(entries).map(({ id, sha256 }) => {
      if (!SHA256_HEX_PATTERN.test(sha256)) throw new InvalidApiKeysError(`id ${JSON.stringify(id)}: sha256 must be 64 hex digits`);
      return { id, digest: Buffer.from(sha256, 'hex') };
    });
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * Compares the presented key's digest with every entry in constant time and without stopping at
   * a match, so the timing tells nothing about which key or how much of one was right.
   */
  authenticate(presented: string | undefined): { id: string } | undefined {
    if (presented === undefined || presented.length === 0) return undefined;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let match: string | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest) && match === undefined) match = entry.id;
    }
    return match === undefined ? undefined : { id: match };
  }
}

type Headers = Record<string, string | string[] | undefined>;

/** A header by case-insensitive name; a repeated header is ambiguous and counts as absent. */
function singleHeader(headers: Headers, name: string): string | undefined {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  const value = found?.[1];
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** The key from `Authorization: Bearer <key>` (RFC 6750, scheme case-insensitive), else `X-API-Key: <key>`. */
export function apiKeyFromHeaders(headers: Headers): string | undefined {
  const authorization = singleHeader(headers, 'authorization');
  if (authorization !== undefined) {
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization);
    if (bearer) return bearer[1];
  }
  const apiKey = singleHeader(headers, 'x-api-key')?.trim();
  return apiKey === undefined || apiKey.length === 0 ? undefined : apiKey;
}
