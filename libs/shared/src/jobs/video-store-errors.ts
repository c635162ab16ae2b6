/** Errors of the video record store, each with a `code` the API maps to HTTP once, at its edge. */

export class VideoNotFound extends Error {
  readonly code = 'VideoNotFound';
  constructor(readonly videoId: string) {
    super(`VideoNotFound: ${videoId}`);
    this.name = 'VideoNotFound';
  }
}

export class VideoAlreadyExists extends Error {
  readonly code = 'VideoAlreadyExists';
  constructor(readonly videoId: string) {
    super(`VideoAlreadyExists: ${videoId}`);
    this.name = 'VideoAlreadyExists';
  }
}

/** A stream id that is not `<ms>-<seq>` (e.g. a forged SSE Last-Event-ID). */
export class InvalidEventId extends Error {
  readonly code = 'InvalidEventId';
  constructor(readonly eventId: string) {
    super(`InvalidEventId: expected <milliseconds>-<sequence>, got ${JSON.stringify(eventId)}`);
    this.name = 'InvalidEventId';
  }
}

/** A list cursor that this store did not hand out. */
export class InvalidCursor extends Error {
  readonly code = 'InvalidCursor';
  constructor(
    readonly cursor: string,
    options?: ErrorOptions,
  ) {
    super(`InvalidCursor: ${JSON.stringify(cursor)}`, options);
    this.name = 'InvalidCursor';
  }
}

/** A stored record or event that does not match its schema: data written by something else, or a bug. */
export class CorruptVideoData extends Error {
  readonly code = 'CorruptVideoData';
  constructor(
    readonly videoId: string,
    detail: string,
  ) {
    super(`CorruptVideoData: ${videoId}: ${detail}`);
    this.name = 'CorruptVideoData';
  }
}

/** Other writers kept changing the record for every one of an update's attempts. */
export class VideoUpdateConflict extends Error {
  readonly code = 'VideoUpdateConflict';
  constructor(
    readonly videoId: string,
    attempts: number,
  ) {
    super(`VideoUpdateConflict: ${videoId} changed under each of ${attempts} attempts`);
    this.name = 'VideoUpdateConflict';
  }
}
