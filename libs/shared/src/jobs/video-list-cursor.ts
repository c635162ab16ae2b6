import { z } from 'zod';
import { VIDEO_ID_PATTERN } from '../contracts/artifact-keys';
import { InvalidCursor } from './video-store-errors';

/**
 * A position in an owner's newest-first list: the last video handed out, by its index score
 * (createdAt in ms) and id. Keyed on values rather than an offset, so videos created while a
 * client pages never shift or repeat what it sees.
 */
export interface VideoListPosition {
  score: number;
  id: string;
}

const positionSchema = z.strictObject({ s: z.number().int().min(0), i: z.string().regex(VIDEO_ID_PATTERN) });

export function encodeListCursor(position: VideoListPosition): string {
  return Buffer.from(JSON.stringify({ s: position.score, i: position.id }), 'utf8').toString('base64url');
}

export function decodeListCursor(cursor: string): VideoListPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new InvalidCursor(cursor, { cause: error });
  }
  const parsed = positionSchema.safeParse(value);
  if (!parsed.success) throw new InvalidCursor(cursor);
  return { score: parsed.data.s, id: parsed.data.i };
}

/** Whether an index entry comes after `position` in newest-first order (score desc, then id desc, as ZREVRANGE orders ties). */
export function isAfterPosition(entry: VideoListPosition, position: VideoListPosition): boolean {
  return entry.score < position.score || (entry.score === position.score && entry.id < position.id);
}
