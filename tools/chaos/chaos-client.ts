import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '@magicvideo/shared';
import { type DistributedStack, REPO_ROOT } from '@magicvideo/shared/testing';

/**
 * What every chaos spec does against a running stack: submit videos over HTTP, watch them to a
 * terminal status, list what a video wrote to S3, and leave the figures for docs/reliability.md.
 */

export const MODELS_DIR = 'assets/models/magicvideo-shapes';
/** Steps kept small: the suite runs on 2 CPU cores; the tiny model makes 64² key frames, 256² after SR. */
export const FAST = { num_inference_steps: 3, interp_num_inference_steps: 2, sr_num_inference_steps: 2 };
/** A short lock, so a killed worker's stage is handed on within seconds. */
export const KILLABLE_WORKER_ENV = { LOCK_DURATION_MS: '3000', STALLED_INTERVAL_MS: '1000' };
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface VideoView {
  id: string;
  status: string;
  stages: Record<string, { state: string; step: number; total_steps: number; attempts: number }>;
  result?: { videos: { format: string; url: string }[] };
  error?: { code: string; message: string };
}

export class ChaosClient {
  constructor(
    private readonly apiUrl: () => string,
    private readonly authorization: string,
  ) {}

  static of(stack: DistributedStack): ChaosClient {
    return new ChaosClient(() => stack.apiUrl, stack.authorization);
  }

  /** POST /v1/videos; resolves with the status and, on 202, the id. */
  async submit(body: Record<string, unknown>): Promise<{ httpStatus: number; id?: string; error?: unknown }> {
    const response = await fetch(`${this.apiUrl()}/v1/videos`, {
      method: 'POST',
      headers: { Authorization: this.authorization, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { id?: string; error?: unknown };
    return { ...answer, httpStatus: response.status };
  }

  /** Submits and insists on 202. */
  async accepted(body: Record<string, unknown>): Promise<string> {
    const answer = await this.submit(body);
    if (answer.httpStatus !== 202 || answer.id === undefined) throw new Error(`submit answered ${answer.httpStatus}: ${JSON.stringify(answer)}`);
    return answer.id;
  }

  /** GET /v1/videos/{id}, or undefined while the API cannot answer (it is part of the chaos). */
  async get(id: string): Promise<VideoView | undefined> {
    try {
      const response = await fetch(`${this.apiUrl()}/v1/videos/${id}`, { headers: { Authorization: this.authorization }, signal: AbortSignal.timeout(5_000) });
      if (response.status !== 200) return undefined;
      return (await response.json()) as VideoView;
    } catch (error) {
      if (error instanceof Error) return undefined;
      throw error;
    }
  }

  async waitFor(id: string, done: (video: VideoView) => boolean, timeoutMs = 300_000): Promise<VideoView> {
    const deadline = Date.now() + timeoutMs;
    let last: VideoView | undefined;
    for (;;) {
      last = (await this.get(id)) ?? last;
      if (last !== undefined && done(last)) return last;
      if (Date.now() > deadline) throw new Error(`video ${id} not done within ${timeoutMs} ms: ${JSON.stringify(last)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  waitForTerminal(id: string, timeoutMs?: number): Promise<VideoView> {
    return this.waitFor(id, (video) => TERMINAL_STATUSES.includes(video.status), timeoutMs);
  }

  /** Every video id the stack's key sees in GET /v1/videos, page after page. */
  async listIds(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=100${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const response = await fetch(`${this.apiUrl()}/v1/videos${query}`, { headers: { Authorization: this.authorization } });
      if (response.status !== 200) throw new Error(`GET /v1/videos answered ${response.status}`);
      const page = (await response.json()) as { data: { id: string }[]; next_cursor: string | null };
      ids.push(...page.data.map((video) => video.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    return ids;
  }

  /** The bytes of a finished video's MP4. */
  async mp4(video: VideoView): Promise<Buffer> {
    const url = video.result?.videos.find((entry) => entry.format === 'mp4')?.url;
    if (url === undefined) throw new Error(`video ${video.id} has no mp4: ${JSON.stringify(video)}`);
    return Buffer.from(await (await fetch(url)).arrayBuffer());
  }
}

/** Every object key a video wrote under `videos/{id}/`, with the id replaced by `{id}`, sorted. */
export async function artifactKeysOf(stack: DistributedStack, videoId: string): Promise<string[]> {
  const { s3 } = stack.services;
  const client = createS3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
  });
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `videos/${videoId}/`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key.replace(videoId, '{id}'));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  } finally {
    client.destroy();
  }
}

/** The figures every chaos scenario reports (docs/reliability.md's table). */
export interface ChaosFigures {
  fault: string;
  faultsInjected: number;
  videosAccepted: number;
  videosSucceeded: number;
  /** failed on purpose (the poison request), counted apart from lost */
  videosFailedAsExpected?: number;
  /** accepted but never terminal, or failed when they should have succeeded */
  videosLost: number;
  /** a stage output under an extra key, an event or a webhook seen twice */
  duplicated: number;
  [extra: string]: number | string | undefined;
}

/** `test-results/reliability-chaos-<name>.jsonl`: read by tools/chaos/reliability-report.ts. */
export function writeChaosRecord(name: string, figures: ChaosFigures): void {
  const resultsDir = path.join(REPO_ROOT, 'test-results');
  mkdirSync(resultsDir, { recursive: true });
  const record = { suite: `chaos-${name}`, measuredAt: new Date().toISOString(), figures };
  writeFileSync(path.join(resultsDir, `reliability-chaos-${name}.jsonl`), `${JSON.stringify(record)}\n`);
}
