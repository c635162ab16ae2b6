/** `@magicvideo/shared/testing`: the test-service harness of DESIGN.md §10. For tests only. */
export * from './app-process';
export * from './app-under-test';
export * from './docker-engine';
export * from './free-port';
export * from './redis-server-process';
export * from './test-redis';
export * from './test-s3';
export * from './test-services';
export * from './distributed-stack';
export * from './webhook-receiver';
export * from '../worker/testing/stage-worker-harness';
