/**
 * float32 arithmetic as torch does it on the CPU.
 *
 * diffusers keeps its schedule (betas, alphas_cumprod, sigmas) and every per-step coefficient in
 * float32 tensors, so each +, −, ×, ÷ and sqrt rounds to float32. `Math.fround` of the float64
 * result of one such operation on float32 inputs is that correctly rounded float32 (float64 has
 * more than 2·24 + 2 bits), so wrapping every operation in `f32` reproduces torch bit for bit.
 */
export const f32 = Math.fround;

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The float32 next to `x` in the direction of `towards` (±1). */
function adjacentFloat32(x: number, towards: 1 | -1): number {
  if (x === 0) return towards * 2 ** -149;
  scratchFloat[0] = x;
  // Away from zero is +1 on the bit pattern of a positive float and of a negative one alike.
  scratchBits[0] = (scratchBits[0] as number) + (x > 0 === towards > 0 ? 1 : -1);
  return scratchFloat[0] as number;
}

/**
 * The float32 nearest to the exact `a + b` (one rounding, as a fused multiply-add gives when `b`
 * is an exact product). A plain `Math.fround(a + b)` rounds twice, and differs when the float64
 * sum lands exactly halfway between two float32s.
 */
export function float32OfExactSum(a: number, b: number): number {
  const sum = a + b;
  const bVirtual = sum - a;
  const error = a - (sum - bVirtual) + (b - bVirtual); // TwoSum: a + b = sum + error exactly
  const rounded = f32(sum);
  if (error === 0 || rounded === sum) return rounded;
  const neighbour = adjacentFloat32(rounded, sum > rounded ? 1 : -1);
  const halfway = (rounded + neighbour) / 2;
  if (sum !== halfway) return rounded;
  // The float64 sum sits on the tie; the exact sum lies on the side its rounding error points to.
  return Math.sign(error) === Math.sign(neighbour - rounded) ? neighbour : rounded;
}

/**
 * The common length of samples that one elementwise step combines; a RangeError when they differ.
 *
 * The schedulers' per-element loops are written out inline over Float32Arrays, with
 * `Math.fround` called directly: a loop that calls back through a shared helper, or calls `f32`
 * imported from this module (a getter once bundled to CommonJS), runs 10–30× slower in V8.
 */
export function sampleLength(...samples: readonly Float32Array[]): number {
  const length = samples[0]?.length ?? 0;
  for (const sample of samples) {
    if (sample.length !== length) {
      throw new RangeError(`sample length mismatch: ${samples.map((a) => a.length).join(' vs ')}`);
    }
  }
  return length;
}
