export * from './s3-client';
export * from './artifact-store';
