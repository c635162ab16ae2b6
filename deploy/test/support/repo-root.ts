import { fileURLToPath } from 'node:url';

/** The repository root: the compose file, the Dockerfile and deploy/ are read from there. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
