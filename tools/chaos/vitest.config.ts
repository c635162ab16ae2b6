import { projectVitestConfig } from '../vitest.base';

// The chaos suite (`npm run test:chaos`): whole stacks of processes with faults injected. One file
// at a time: each starts an API and workers, and two at once would starve each other on 2 cores.
const base = projectVitestConfig('tools/chaos', { testTimeoutMs: 600_000 });
export default { ...base, test: { ...base.test, fileParallelism: false, hookTimeout: 300_000 } };
