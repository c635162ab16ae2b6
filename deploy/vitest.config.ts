import { projectVitestConfig } from '../tools/vitest.base';

// Deployment checks: docker compose config, kubectl kustomize, and the KEDA queries through a real Prometheus.
export default projectVitestConfig('deploy', { testTimeoutMs: 180_000 });
