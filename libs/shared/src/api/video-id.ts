import { randomBytes } from 'node:crypto';

/** Crockford's base32 (no I, L, O, U), as ULIDs use it. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_BITS = 80n;

function base32(value: bigint, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) {
    text = CROCKFORD[Number(value & 31n)] + text;
    value >>= 5n;
  }
  return text;
}

let previous = { time: -1, random: 0n };

/**
 * `vid_` + a ULID: 48 bits of milliseconds then 80 random bits, 26 characters. The random part
 * makes ids unguessable (another key's video answers 404, but ids should not be enumerable in
 * the first place). Monotonic within a process, as the ULID spec's monotonic factory: in the same
 * millisecond (or if the clock steps back) the previous random part plus one, so ids sort in
 * creation order, the order the owner's list uses to break ties.
 */
export function newVideoId(now: Date = new Date()): string {
  const time = Math.max(now.getTime(), previous.time);
  const random =
    time === previous.time && previous.random + 1n < 1n << RANDOM_BITS
      ? previous.random + 1n
      : BigInt(`0x${randomBytes(10).toString('hex')}`);
  previous = { time, random };
  return `vid_${base32(BigInt(time), 10)}${base32(random, 16)}`;
}
