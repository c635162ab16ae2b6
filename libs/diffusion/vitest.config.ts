import { projectVitestConfig } from '../../tools/vitest.base';

export default projectVitestConfig('libs/diffusion');
