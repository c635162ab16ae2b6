import type { StageProgress } from '@magicvideo/diffusion';

/**
 * Per-stage progress of a run: on a terminal, one bar per stage redrawn in place with its step
 * count and an ETA from the stage's mean step time; elsewhere (a pipe, a log, a test) one plain
 * line per step.
 */

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressDisplay {
  update(progress: StageProgress): void;
  /** Ends the current stage's line; call before printing anything else. */
  finish(): void;
}

const BAR_WIDTH = 24;

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** `keyframes [##########..............] 10/25  4.0s  ETA 6.0s` */
export function formatProgressBar(progress: StageProgress, elapsedMs: number): string {
  const { stage, step, totalSteps } = progress;
  const filled = totalSteps > 0 ? Math.round((BAR_WIDTH * Math.min(step, totalSteps)) / totalSteps) : BAR_WIDTH;
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  const remaining = step > 0 ? ((totalSteps - step) * elapsedMs) / step : 0;
  const eta = step < totalSteps ? `  ETA ${seconds(remaining)}` : '';
  return `${stage.padEnd(9)} [${bar}] ${step}/${totalSteps}  ${seconds(elapsedMs)}${eta}`;
}

export function createProgressDisplay(output: ProgressOutput, now: () => number = () => performance.now()): ProgressDisplay {
  let stage: string | undefined;
  // a stage's work began when the previous stage's last step ended (or when the display was made)
  let lastEvent = now();
  let stageStarted = lastEvent;
  let lineOpen = false;
  const endLine = () => {
    if (lineOpen) output.write('\n');
    lineOpen = false;
  };
  return {
    update(progress) {
      if (progress.stage !== stage) {
        endLine();
        stage = progress.stage;
        stageStarted = lastEvent;
      }
      lastEvent = now();
      const elapsed = lastEvent - stageStarted;
      if (output.isTTY === true) {
        output.write(`\r\x1b[2K${formatProgressBar(progress, elapsed)}`);
        lineOpen = true;
      } else {
        output.write(`${progress.stage} ${progress.step}/${progress.totalSteps} ${seconds(elapsed)}\n`);
      }
    },
    finish: endLine,
  };
}
