/**
 * A stage stopped because its job was cancelled (DESIGN.md §3, "Cancel"): the worker turned the
 * cancel event into the stage's AbortSignal, and the stage saw it between two model calls.
 */
export class StageCancelled extends Error {
  readonly code = 'StageCancelled';
  constructor(
    readonly stage: string,
    readonly reason?: unknown,
  ) {
    super(
      `${stage} stage cancelled${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`,
    );
    this.name = 'StageCancelled';
  }
}

/** Throws StageCancelled when the signal has aborted; stages call it between denoising steps. */
export function throwIfCancelled(stage: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new StageCancelled(stage, signal.reason);
}
