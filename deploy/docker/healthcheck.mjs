// The images' HEALTHCHECK: exits 0 when the process answers 200 on /readyz (Redis and S3 answer,
// and in a worker its models are loaded), 1 otherwise. Plain Node (the images have no curl).
// With a URL argument it probes that URL; without, the ports this image's processes serve:
// HEALTH_PORT (a worker, 8081) and PORT (the API, 3000) on loopback, healthy when either answers.
/* global process, fetch, AbortSignal, console */
const TIMEOUT_MS = 4000;

const urls = process.argv[2]
  ? [process.argv[2]]
  : [...new Set([process.env.HEALTH_PORT || '8081', process.env.PORT || '3000'])].map((port) => `http://127.0.0.1:${port}/readyz`);

const answers = await Promise.all(
  urls.map((url) =>
    fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then(
      async (response) => ({ url, ok: response.ok, detail: `${response.status} ${await response.text()}` }),
      (error) => ({ url, ok: false, detail: String(error?.cause?.code ?? error?.message ?? error) }),
    ),
  ),
);
const ready = answers.find((answer) => answer.ok);
if (ready === undefined) for (const answer of answers) console.error(`${answer.url}: ${answer.detail}`);
process.exit(ready === undefined ? 1 : 0);
