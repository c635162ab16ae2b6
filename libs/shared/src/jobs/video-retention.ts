import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { artifactKey, type ArtifactName } from '../contracts/artifact-keys';

/**
 * Retention (issue 15): what of an ended video is deleted, and when. Intermediates (the tensors
 * between stages and the init upload) go sooner than the results (the video files and the
 * preview); job.json stays as the record of what happened and when it expired, so the API can
 * answer 410 Gone with the time.
 */

export interface RetentionPeriods {
  /** seconds after a video ends that its intermediates are deleted */
  intermediateSeconds: number;
  /** seconds after a video ends that its results are deleted (never sooner than the intermediates) */
  resultSeconds: number;
}

export { INTERMEDIATE_ARTIFACTS, RESULT_ARTIFACTS, retentionClassOf } from '../contracts/artifact-retention';

export class RetentionDeleteFailed extends Error {
  readonly code = 'RetentionDeleteFailed';
  constructor(
    readonly videoId: string,
    readonly failures: readonly string[],
  ) {
    super(`RetentionDeleteFailed: ${videoId}: ${failures.join('; ')}`);
    this.name = 'RetentionDeleteFailed';
  }
}

/** Deletes the video's artifacts (a missing one counts as deleted); throws when S3 refuses any. */
export async function deleteVideoArtifacts(s3: S3Client, bucket: string, videoId: string, artifacts: readonly ArtifactName[]): Promise<void> {
  if (artifacts.length === 0) return;
  const reply = await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: artifacts.map((artifact) => ({ Key: artifactKey(videoId, artifact) })), Quiet: true } }),
  );
  const failures = (reply.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey').map((error) => `${error.Key ?? '?'}: ${error.Code ?? 'error'}`);
  if (failures.length > 0) throw new RetentionDeleteFailed(videoId, failures);
}
