import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

/** Thrown when no runnable ffmpeg binary can be found. */
export class FfmpegNotFound extends Error {
  readonly code = 'FfmpegNotFound';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`FfmpegNotFound: ${detail}`, options);
    this.name = 'FfmpegNotFound';
  }
}

export interface FfmpegLocation {
  /**
   * An explicitly configured binary (the caller passes its validated FFMPEG_PATH). When set, it
   * must exist: a configured path that is wrong is an error, never a silent fallback.
   */
  readonly configuredPath?: string;
}

async function assertExecutable(path: string, source: string): Promise<string> {
  try {
    await access(path, constants.X_OK);
  } catch (error) {
    throw new FfmpegNotFound(`${source} ${path} is not an executable file`, { cause: error });
  }
  return path;
}

/** The path of the bundled static binary, or undefined when this platform's package is missing. */
async function bundledFfmpegPath(): Promise<{ path: string } | { failure: unknown }> {
  try {
    // The installer's index throws (a string) at import time when its platform binary is absent.
    const installer = await import('@ffmpeg-installer/ffmpeg');
    return { path: installer.default.path };
  } catch (failure) {
    return { failure };
  }
}

/**
 * The ffmpeg binary to run: the configured path, else `@ffmpeg-installer/ffmpeg`'s static
 * build. Throws FfmpegNotFound when neither is an executable file.
 */
export async function resolveFfmpegPath(location: FfmpegLocation = {}): Promise<string> {
  if (location.configuredPath !== undefined && location.configuredPath !== '') {
    return assertExecutable(location.configuredPath, 'the configured ffmpeg');
  }
  const bundled = await bundledFfmpegPath();
  if ('failure' in bundled) {
    throw new FfmpegNotFound(
      `no ffmpeg configured and @ffmpeg-installer/ffmpeg has no binary for this platform (${String(bundled.failure)})`,
      { cause: bundled.failure },
    );
  }
  return assertExecutable(bundled.path, '@ffmpeg-installer/ffmpeg');
}
