/** What the page showed of one stage at one moment (StageTimeline's data-* attributes). */
export interface ShownStage {
  stage: string;
  state: string;
  step: number;
  totalSteps: number;
  /** the video's status shown at that moment */
  status: string;
  /** whether the preview image was on the page at that moment */
  preview: boolean;
}

declare global {
  interface Window {
    shownStages?: ShownStage[];
  }
}

/**
 * Runs in the page before its scripts (Page.addInitScript): after every DOM change, records each
 * stage's state and step as displayed, so the test sees what a person would have seen even when a
 * stage passes faster than the test could poll. Self-contained: it is serialised into the page.
 */
export function recordShownStages(): void {
  const shown: ShownStage[] = [];
  window.shownStages = shown;
  const last = new Map<string, string>();
  new MutationObserver(() => {
    const status = document.querySelector('[data-status]')?.getAttribute('data-status') ?? '';
    const preview = document.querySelector('figure.preview img') !== null;
    for (const element of document.querySelectorAll('[data-stage]')) {
      const entry: ShownStage = {
        stage: element.getAttribute('data-stage') ?? '',
        state: element.getAttribute('data-state') ?? '',
        step: Number(element.getAttribute('data-step')),
        totalSteps: Number(element.getAttribute('data-total-steps')),
        status,
        preview,
      };
      const key = JSON.stringify(entry);
      if (last.get(entry.stage) !== key) {
        last.set(entry.stage, key);
        shown.push(entry);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}
