import type { VideoResource } from '@magicvideo/shared/http-schemas';
import { stageElapsedMs } from '../video/apply-stream-event';

type StageName = NonNullable<VideoResource['stage']>;

const STAGE_LABELS: Record<StageName, string> = {
  keyframe: 'Key frames',
  interp: 'Interpolation',
  decode: 'Decode',
  sr: 'Super-resolution',
};

export function formatSeconds(ms: number | null): string {
  return ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The flow's stages in order (the resource lists only those the request runs), each with its
 * state, per-step progress and elapsed time. data-* attributes carry the same facts for tests.
 */
export function StageTimeline({ video, nowMs }: { video: VideoResource; nowMs: number }) {
  const stages = Object.entries(video.stages) as [StageName, NonNullable<VideoResource['stages'][StageName]>][];
  return (
    <ol class="timeline" aria-label="Stages">
      {stages.map(([name, summary]) => {
        const label = STAGE_LABELS[name];
        return (
          <li key={name} class={`stage ${summary.state}`} data-stage={name} data-state={summary.state} data-step={summary.step} data-total-steps={summary.total_steps}>
            <div class="stage-head">
              <span class="stage-name">{label}</span>
              <span class="stage-state">{summary.state}</span>
            </div>
            <progress max={Math.max(summary.total_steps, 1)} value={summary.state === 'completed' ? Math.max(summary.total_steps, 1) : summary.step} aria-label={`${label} progress`} />
            <div class="stage-facts">
              <span>
                step {summary.step}/{summary.total_steps}
              </span>
              <span>elapsed {formatSeconds(stageElapsedMs(summary, nowMs))}</span>
              {summary.wait_ms !== null && <span>queued {formatSeconds(summary.wait_ms)}</span>}
              {summary.attempts > 1 && <span>attempt {summary.attempts}</span>}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
