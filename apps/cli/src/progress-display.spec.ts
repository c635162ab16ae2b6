import { describe, expect, it } from 'vitest';
import { createProgressDisplay, formatProgressBar } from './progress-display';

function recorder(isTTY: boolean) {
  const written: string[] = [];
  return { output: { isTTY, write: (text: string) => written.push(text) }, written };
}

describe('progress display', () => {
  it('draws a bar with the step count, elapsed time and an ETA from the mean step time', () => {
    expect(formatProgressBar({ stage: 'keyframes', step: 10, totalSteps: 25 }, 4000)).toBe(
      'keyframes [##########..............] 10/25  4.0s  ETA 6.0s',
    );
    expect(formatProgressBar({ stage: 'sr', step: 4, totalSteps: 4 }, 90_000)).toBe('sr        [########################] 4/4  1m30s');
  });

  it('redraws one line per stage on a terminal and ends it when the stage changes', () => {
    let clock = 0;
    const { output, written } = recorder(true);
    const display = createProgressDisplay(output, () => clock);
    clock = 1000;
    display.update({ stage: 'text', step: 1, totalSteps: 1 });
    clock = 3000;
    display.update({ stage: 'keyframes', step: 1, totalSteps: 2 });
    display.finish();
    expect(written).toEqual([
      '\r\x1b[2Ktext      [########################] 1/1  1.0s',
      '\n',
      '\r\x1b[2Kkeyframes [############............] 1/2  2.0s  ETA 2.0s',
      '\n',
    ]);
  });

  it('writes plain lines when the output is not a terminal', () => {
    let clock = 0;
    const { output, written } = recorder(false);
    const display = createProgressDisplay(output, () => clock);
    clock = 500;
    display.update({ stage: 'decode', step: 1, totalSteps: 4 });
    display.finish();
    expect(written).toEqual(['decode 1/4 0.5s\n']);
  });
});
