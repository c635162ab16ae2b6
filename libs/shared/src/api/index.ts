export * from './api-keys';
export * from './idempotency';
export * from './rate-limiter';
