import type { ArtifactObserver } from '../storage/artifact-store';
import { counterFamily } from './metric-family';

/** S3 traffic of a process's artifact store, by stage (the API counts under `api`) and artifact name. */

export const artifactReadBytes = counterFamily({
  name: 'magicvideo_artifact_read_bytes_total',
  help: 'Bytes of artifacts read from S3, by stage and artifact.',
  labelNames: ['stage', 'artifact'],
});

export const artifactWrittenBytes = counterFamily({
  name: 'magicvideo_artifact_written_bytes_total',
  help: 'Bytes of artifacts written to S3, by stage and artifact.',
  labelNames: ['stage', 'artifact'],
});

/** The ArtifactStore observer that counts into the families above under `stage`. */
export function artifactTrafficObserver(stage: string): ArtifactObserver {
  return {
    read: (artifact, bytes) => artifactReadBytes.labels({ stage, artifact }).inc(bytes),
    written: (artifact, bytes) => artifactWrittenBytes.labels({ stage, artifact }).inc(bytes),
  };
}
