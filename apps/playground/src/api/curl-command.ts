import type { CreateVideoRequest } from '@magicvideo/shared/http-schemas';

/** Quotes a word for a POSIX shell: single quotes, each ' written as '\''. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * "Copy as curl": the same POST /v1/videos from a terminal. The key is read from
 * $MAGICVIDEO_API_KEY rather than pasted in, so a copied command never carries the secret.
 */
export function curlCommand(apiOrigin: string, request: CreateVideoRequest): string {
  return [
    `curl -X POST ${shellQuote(new URL('/v1/videos', apiOrigin).href)}`,
    `  -H "Authorization: Bearer $MAGICVIDEO_API_KEY"`,
    `  -H 'Content-Type: application/json'`,
    `  -d ${shellQuote(JSON.stringify(request))}`,
  ].join(' \\\n');
}
