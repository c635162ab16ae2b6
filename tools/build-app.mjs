// Bundles one app (its own code and the workspace libs) into dist/<root>/main.js; npm packages stay external.
import { build } from 'esbuild';
import path from 'node:path';

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/build-app.mjs <app-root>');
  process.exit(2);
}
await build({
  entryPoints: [path.join(projectRoot, 'src/main.ts')],
  outfile: path.join('dist', projectRoot, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'info',
});
