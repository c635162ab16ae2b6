import { placeholder } from '@magicvideo/shared';
export const x = placeholder;
