import { defineConfig } from 'vite';
import { HTTP_SCHEMAS_ALIAS, PLAYGROUND_OUT_DIR, PLAYGROUND_ROOT } from './build-paths';

/**
 * The playground: a static page the API serves at `/`. `base: './'` keeps asset URLs relative,
 * so the page also works under a prefix a proxy puts the API behind.
 */
export default defineConfig({
  root: PLAYGROUND_ROOT,
  base: './',
  resolve: { alias: [HTTP_SCHEMAS_ALIAS] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: PLAYGROUND_OUT_DIR, emptyOutDir: true, target: 'es2022', sourcemap: true },
});
