export * from './health-server';
export * from './readiness';
