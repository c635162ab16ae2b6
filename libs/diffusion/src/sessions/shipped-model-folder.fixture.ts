import { fileURLToPath } from 'node:url';

/**
 * The shipped model folder (the trained `tiny` set): the runtime's tests run real sessions on it.
 * Its weights are retrained now and then, so a test may rely on its contract (names, shapes,
 * manifest) and on fixtures regenerated from it (`npm run fixtures:models`), never on its values.
 */
export const SHIPPED_MODEL_FOLDER = fileURLToPath(
  new URL('../../../../assets/models/magicvideo-shapes', import.meta.url),
);
