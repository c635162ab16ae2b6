/**
 * Seeded Gaussian noise: the one algorithm both halves share (docs/noise.md).
 *
 * Philox4x32-10 (Salmon et al., SC'11) in counter mode, Box–Muller in float64, rounded to
 * float32. Same (seed, stream, offset, count) gives the same values as
 * libs/models/src/magicvideo_models/noise.py; both are tested against
 * libs/diffusion/test/fixtures/noise-vectors.json.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;

const TWO_POW_32 = 2 ** 32;
const STREAM_LIMIT = 2 ** 32;
const INDEX_LIMIT = 2 ** 16;
const TWO_PI = 2 * Math.PI; // exact doubling of the float64 pi, as in Python

/** What a stream's noise is for (docs/noise.md, "Streams"). */
export const NoisePurpose = {
  keyframeInitialLatents: 1,
  keyframeStepNoise: 2,
  interpInitialLatents: 3,
  interpStepNoise: 4,
  srInitialNoise: 5,
  srStepNoise: 6,
  srNoiseAugmentation: 7,
  vaePosteriorSample: 8,
  sdeditNoise: 9,
} as const;
export type NoisePurpose = (typeof NoisePurpose)[keyof typeof NoisePurpose];

export type PhiloxWords = [number, number, number, number];

/** `stream = purpose * 65536 + index`, so the draws of one video never overlap. */
export function streamId(purpose: number, index = 0): number {
  checkInteger('purpose', purpose, 0, INDEX_LIMIT);
  checkInteger('index', index, 0, INDEX_LIMIT);
  return purpose * INDEX_LIMIT + index;
}

/**
 * High 32 bits of the 64-bit product of two uint32, from 16-bit halves (every partial sum stays
 * below 2^53, so it is exact in a double). The low half is `Math.imul(a, b) >>> 0`.
 */
function mulHi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const carry = (loLo >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff);
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + (carry >>> 16)) >>> 0;
}

/** Philox4x32-10 of one counter under a key; writes the four output words into `out`. */
function philoxInto(
  out: Uint32Array,
  counter0: number,
  counter1: number,
  counter2: number,
  counter3: number,
  key0: number,
  key1: number,
): void {
  let c0 = counter0;
  let c1 = counter1;
  let c2 = counter2;
  let c3 = counter3;
  let k0 = key0;
  let k1 = key1;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Philox4x32-10 (Random123's philox4x32_R with R = 10) of one counter under a key. */
export function philox4x32x10(counter: readonly number[], key: readonly number[]): PhiloxWords {
  const out = new Uint32Array(4);
  philoxInto(
    out,
    (counter[0] ?? 0) >>> 0,
    (counter[1] ?? 0) >>> 0,
    (counter[2] ?? 0) >>> 0,
    (counter[3] ?? 0) >>> 0,
    (key[0] ?? 0) >>> 0,
    (key[1] ?? 0) >>> 0,
  );
  return [out[0] ?? 0, out[1] ?? 0, out[2] ?? 0, out[3] ?? 0];
}

/**
 * Normals `offset .. offset + count - 1` of `(seed, stream)` as float32 (docs/noise.md).
 * A tensor of shape S is `seededGaussian(seed, stream, prod(S))` in row-major order; any slice
 * can be drawn on its own with `offset`.
 */
export function seededGaussian(seed: number, stream: number, count: number, offset = 0): Float32Array {
  checkInteger('seed', seed, 0, Number.MAX_SAFE_INTEGER + 1);
  checkInteger('stream', stream, 0, STREAM_LIMIT);
  checkInteger('count', count, 0, Number.MAX_SAFE_INTEGER + 1);
  checkInteger('offset', offset, 0, Number.MAX_SAFE_INTEGER + 1);
  if (offset + count > Number.MAX_SAFE_INTEGER + 1) {
    throw new RangeError(`offset + count must be at most 2^53, got ${offset} + ${count}`);
  }
  const key0 = seed % TWO_POW_32;
  const key1 = Math.floor(seed / TWO_POW_32);
  const values = new Float32Array(count);
  const words = new Uint32Array(4);
  const normals = new Float64Array(4);
  let position = 0;
  while (position < count) {
    const normalIndex = offset + position;
    const block = Math.floor(normalIndex / 4);
    philoxInto(words, block % TWO_POW_32, Math.floor(block / TWO_POW_32), stream, 0, key0, key1);
    boxMullerInto(normals, words);
    for (let word = normalIndex - block * 4; word < 4 && position < count; word++) {
      values[position++] = normals[word] ?? 0;
    }
  }
  return values;
}

/** Box–Muller in float64 of one block's words: [r01 cos, r01 sin, r23 cos, r23 sin]. */
function boxMullerInto(out: Float64Array, words: Uint32Array): void {
  for (let first = 0; first < 4; first += 2) {
    const uRadius = ((words[first] ?? 0) + 0.5) / TWO_POW_32; // open interval (0, 1)
    const uAngle = ((words[first + 1] ?? 0) + 0.5) / TWO_POW_32;
    const radius = Math.sqrt(-2 * Math.log(uRadius));
    const angle = TWO_PI * uAngle;
    out[first] = radius * Math.cos(angle);
    out[first + 1] = radius * Math.sin(angle);
  }
}

function checkInteger(name: string, value: number, low: number, high: number): void {
  if (!Number.isInteger(value) || value < low || value >= high) {
    throw new RangeError(`${name} must be an integer in [${low}, ${high}), got ${value}`);
  }
}
