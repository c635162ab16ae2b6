// The public surface of @magicvideo/shared. The test harness is a separate entry:
// @magicvideo/shared/testing (libs/shared/src/testing/index.ts).
export * from './api';
export * from './config';
export * from './contracts';
export * from './health';
export * from './jobs';
export * from './lifecycle';
export * from './logging';
export * from './metrics';
export * from './model-folder/contract';
export * from './model-folder/manifest';
export * from './redis';
export * from './safetensors';
export * from './storage';
export * from './worker';
export * from './webhooks';
