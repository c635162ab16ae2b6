import type { DependencyCheck } from '../health/readiness';

export interface ModelsReadiness {
  /** `/readyz`'s `models` check: fails while the models load, and with the error if loading failed. */
  check: DependencyCheck;
  loaded(): void;
  failed(error: unknown): void;
}

/** A worker is ready only once its models are loaded: until then it takes no job. */
export function modelsReadiness(): ModelsReadiness {
  let state: { kind: 'loading' } | { kind: 'loaded' } | { kind: 'failed'; message: string } = { kind: 'loading' };
  return {
    check: async () => {
      if (state.kind === 'loading') throw new Error('models are loading');
      if (state.kind === 'failed') throw new Error(`models failed to load: ${state.message}`);
    },
    loaded: () => {
      state = { kind: 'loaded' };
    },
    failed: (error) => {
      if (state.kind === 'loaded') return;
      state = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    },
  };
}
