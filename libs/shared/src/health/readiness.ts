import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';

/** Resolves when the dependency answers; rejects with the reason otherwise. */
export type DependencyCheck = (signal: AbortSignal) => Promise<void>;

export type CheckResult = { ok: true } | { ok: false; error: string };

/** The body of `/readyz`: `ok` (HTTP 200) only when every dependency answered. */
export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, CheckResult>;
}

export const READINESS_TIMEOUT_MS = 2_000;

/** Runs every check in parallel, each bounded by `timeoutMs`, and names each failing dependency. */
export async function checkReadiness(
  checks: Record<string, DependencyCheck>,
  timeoutMs: number = READINESS_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await Promise.race([
          check(signal),
          new Promise<never>((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`))),
          ),
        ]);
        return [name, { ok: true }];
      } catch (error) {
        return [name, { ok: false, error: error instanceof Error ? error.message : String(error) }];
      }
    }),
  );
  const report = Object.fromEntries(results);
  return { status: results.every(([, result]) => result.ok) ? 'ok' : 'unavailable', checks: report };
}

export function redisPingCheck(redis: Redis): DependencyCheck {
  return async () => {
    const answer = await redis.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
  };
}

/** HeadBucket: proves the endpoint answers, the credentials work and the bucket exists. */
export function s3BucketCheck(s3: S3Client, bucket: string): DependencyCheck {
  return async (signal) => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  };
}
