/**
 * DESIGN.md §4 (contract): the S3 keys of a video's artifacts, all under `videos/{videoId}/`
 * in one bucket.
 */
export const ARTIFACT_FILES = {
  request: 'request.json',
  text: 'text.safetensors',
  keyframes: 'keyframes.safetensors',
  interp: 'interp.safetensors',
  frames: 'frames.safetensors',
  /** the SR stage's output frames, uint8 [N,H',W',3]; decode keeps frames.safetensors, so each stage writes only its own keys */
  srFrames: 'sr_frames.safetensors',
  preview: 'preview.gif',
  videoMp4: 'video.mp4',
  videoWebm: 'video.webm',
  videoGif: 'video.gif',
  job: 'job.json',
  /** the uploaded init image or video (image-to-video, editing), raw bytes; its content type is in the object's metadata */
  init: 'init.bin',
} as const;
export type ArtifactName = keyof typeof ARTIFACT_FILES;

/**
 * Ids become path segments of S3 keys, so only characters that can never form `..`, `/` or
 * a URL escape are allowed (covers UUIDs, ULIDs and nanoids).
 */
export const VIDEO_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class InvalidVideoIdError extends Error {
  readonly code = 'InvalidVideoId';
  constructor(videoId: string) {
    super(`InvalidVideoId: expected 1-128 characters of [A-Za-z0-9_-], got ${JSON.stringify(videoId)}`);
    this.name = 'InvalidVideoIdError';
  }
}

export function assertVideoId(videoId: string): void {
  if (!VIDEO_ID_PATTERN.test(videoId)) throw new InvalidVideoIdError(videoId);
}

/** `videos/{videoId}/`, the folder of every artifact of one video. */
export function videoPrefix(videoId: string): string {
  assertVideoId(videoId);
  return `videos/${videoId}/`;
}

/** `artifactKey('abc', 'keyframes')` → `videos/abc/keyframes.safetensors`. */
export function artifactKey(videoId: string, artifact: ArtifactName): string {
  return `${videoPrefix(videoId)}${ARTIFACT_FILES[artifact]}`;
}
