import type { ArtifactName } from './artifact-keys';

/**
 * Which artifacts of a video are intermediates (the tensors between stages and the init upload,
 * deleted sooner) and which are results (the video files, the preview, the request); job.json is
 * neither and stays. A contract: the artifact store tags every object with its class, and the
 * bucket's lifecycle rules (jobs/retention-lifecycle.ts) select objects by that tag.
 */
export const INTERMEDIATE_ARTIFACTS: readonly ArtifactName[] = ['text', 'keyframes', 'interp', 'frames', 'srFrames', 'init'];
/** the results, and the request (the prompt is the user's data; the record keeps what the API shows) */
export const RESULT_ARTIFACTS: readonly ArtifactName[] = ['preview', 'videoMp4', 'videoWebm', 'videoGif', 'request'];

/** The object tag the retention class is written under. */
export const RETENTION_TAG = 'magicvideo-retention';

export type RetentionClass = 'intermediate' | 'result';

/** The retention class each artifact is tagged with; job.json has none (it stays). */
export function retentionClassOf(artifact: ArtifactName): RetentionClass | undefined {
  if (INTERMEDIATE_ARTIFACTS.includes(artifact)) return 'intermediate';
  if (RESULT_ARTIFACTS.includes(artifact)) return 'result';
  return undefined;
}

/** The S3 `Tagging` value (URL query form) an artifact is written with, if any. */
export function retentionTagging(artifact: ArtifactName): string | undefined {
  const retentionClass = retentionClassOf(artifact);
  return retentionClass === undefined ? undefined : `${RETENTION_TAG}=${retentionClass}`;
}
