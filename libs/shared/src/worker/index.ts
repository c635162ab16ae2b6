export * from './run-stage-worker';
export * from './stage-error';
export * from './stage-not-implemented';
