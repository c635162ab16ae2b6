import { fileURLToPath } from 'node:url';

/** The shipped tiny model folder (random weights): the runtime's tests run real sessions on it. */
export const TINY_MODEL_FOLDER = fileURLToPath(
  new URL('../../../../assets/models/magicvideo-tiny', import.meta.url),
);
