/** A frame rate as an exact rational, as ffmpeg takes it (`30000/1001`). */
export interface FrameRate {
  readonly numerator: number;
  readonly denominator: number;
}

export class InvalidFrameRate extends Error {
  readonly code = 'InvalidFrameRate';
  constructor(detail: string) {
    super(`InvalidFrameRate: ${detail}`);
    this.name = 'InvalidFrameRate';
  }
}

/** NTSC rates have denominator 1001; anything finer is not a frame rate anyone asks for. */
const MAX_DENOMINATOR = 1001;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}

/**
 * The frame rate as a reduced rational. A number is read as the nearest fraction with
 * denominator ≤ 1001 (continued fractions), so 29.97 is 2997/100 and 30000/1001 stays exact
 * when given as a rational; 7.5 is 15/2.
 */
export function toFrameRate(fps: number | FrameRate): FrameRate {
  if (typeof fps !== 'number') {
    const { numerator, denominator } = fps;
    if (!Number.isInteger(numerator) || !Number.isInteger(denominator) || numerator <= 0 || denominator <= 0) {
      throw new InvalidFrameRate(`${numerator}/${denominator} is not a positive rational`);
    }
    const divisor = gcd(numerator, denominator);
    return { numerator: numerator / divisor, denominator: denominator / divisor };
  }
  if (!Number.isFinite(fps) || fps <= 0) throw new InvalidFrameRate(`${fps} is not a positive number`);
  // Best rational approximation: convergents h/k of the continued fraction of fps.
  let [h0, h1, k0, k1] = [0, 1, 1, 0];
  let x = fps;
  for (;;) {
    const a = Math.floor(x);
    const [h2, k2] = [a * h1 + h0, a * k1 + k0];
    if (k2 > MAX_DENOMINATOR) break;
    [h0, h1, k0, k1] = [h1, h2, k1, k2];
    const remainder = x - a;
    if (remainder < 1e-9 || Math.abs(h1 / k1 - fps) < 1e-9 * fps) break;
    x = 1 / remainder;
  }
  return toFrameRate({ numerator: h1, denominator: k1 });
}

/** `32` or `30000/1001`, as ffmpeg's options take it. */
export function formatFrameRate(rate: FrameRate): string {
  return rate.denominator === 1 ? `${rate.numerator}` : `${rate.numerator}/${rate.denominator}`;
}

export function frameRateValue(rate: FrameRate): number {
  return rate.numerator / rate.denominator;
}
