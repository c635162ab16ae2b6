import { mergeConfig } from 'vitest/config';
import { projectVitestConfig } from '../../tools/vitest.base';
import { HTTP_SCHEMAS_ALIAS } from './build-paths';

export default mergeConfig(projectVitestConfig('apps/playground'), { resolve: { alias: [HTTP_SCHEMAS_ALIAS] } });
