export * from './artifact-keys';
export * from './queue-names';
export * from './redis-prefix';
export * from './generation-request';
export * from './artifact-retention';
