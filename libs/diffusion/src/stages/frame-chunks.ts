/**
 * Temporal chunks for decoding a long latent video with the VideoVAE decoder (paper §3.3).
 *
 * The decoder's two directed, windowed temporal attention layers make output frame i depend on
 * latent frames [i − contextFrames, i] only (manifest `vae.decoder_context_frames`). Decoding
 * latent frames [contextStart, end) and keeping the outputs [start, end) therefore gives exactly
 * the frames a whole decode gives, while memory stays bounded by chunkFrames + contextFrames.
 */
export interface FrameChunk {
  /** First latent frame fed to the decoder (left context whose outputs are dropped). */
  readonly contextStart: number;
  /** First output frame kept. */
  readonly start: number;
  /** One past the last frame, fed and kept. */
  readonly end: number;
}

/** Chunks of `chunkFrames` kept frames covering [0, frameCount), each with its left context. */
export function planFrameChunks(frameCount: number, chunkFrames: number, contextFrames: number): FrameChunk[] {
  if (!Number.isInteger(frameCount) || frameCount < 0) {
    throw new RangeError(`frameCount must be a non-negative integer, got ${frameCount}`);
  }
  if (!Number.isInteger(chunkFrames) || chunkFrames < 1) {
    throw new RangeError(`chunkFrames must be a positive integer, got ${chunkFrames}`);
  }
  if (!Number.isInteger(contextFrames) || contextFrames < 0) {
    throw new RangeError(`contextFrames must be a non-negative integer, got ${contextFrames}`);
  }
  const chunks: FrameChunk[] = [];
  for (let start = 0; start < frameCount; start += chunkFrames) {
    chunks.push({
      contextStart: Math.max(0, start - contextFrames),
      start,
      end: Math.min(frameCount, start + chunkFrames),
    });
  }
  return chunks;
}
