import { randomBytes } from 'node:crypto';

/** Crockford's base32 (no I, L, O, U), as ULIDs use it. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(value: bigint, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) {
    text = CROCKFORD[Number(value & 31n)] + text;
    value >>= 5n;
  }
  return text;
}

/**
 * `vid_` + a ULID: 48 bits of milliseconds then 80 random bits, 26 characters. Ids of one owner
 * sort by creation time, and the random part makes them unguessable (another key's video answers
 * 404, but an id should not be enumerable in the first place).
 */
export function newVideoId(now: Date = new Date()): string {
  const random = BigInt(`0x${randomBytes(10).toString('hex')}`);
  return `vid_${base32(BigInt(now.getTime()), 10)}${base32(random, 16)}`;
}
