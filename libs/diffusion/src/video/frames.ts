/**
 * Frame-format conversions between the models' float tensors and 8-bit RGB video frames, and the
 * resampling the super-resolution stage needs, computed as PyTorch computes them so that the
 * Python reference sampler and this runtime produce the same pixels.
 */

/** 8-bit RGB frames, interleaved, layout [F, H, W, 3] (what ffmpeg's rgb24 reads and writes). */
export interface RgbFrames {
  readonly data: Uint8Array; // [F, H, W, 3]
  readonly frameCount: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Channel-first layouts of float frames: `CFHW` is the VideoVAE's [1, 3, F, H, W] (diffusers'
 * video layout, batch of one); `FCHW` is frames as a batch of images, [F, 3, H, W] (the image
 * encoder, the VAE encoder and the SR U-Net take frames this way).
 */
export type ChannelFirstLayout = 'CFHW' | 'FCHW';

export class FrameShapeMismatch extends Error {
  readonly code = 'FrameShapeMismatch';
  constructor(detail: string) {
    super(`FrameShapeMismatch: ${detail}`);
    this.name = 'FrameShapeMismatch';
  }
}

const f32 = Math.fround;

/** Round half to even, as torch.round and numpy.round do. */
function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  // `& 1` rather than `% 2` (V8 compiles a float modulo to a C call); ToInt32 keeps an integer's parity.
  return (floor & 1) === 0 ? floor : floor + 1;
}

/**
 * One float sample in [-1, 1] to a byte, as diffusers' VaeImageProcessor.postprocess does in
 * float32: (x·0.5 + 0.5).clamp(0, 1), then (·255).round() — round half to even.
 * (Math.fround inline, not a module alias: this runs once per output pixel value.)
 */
export function signedUnitToByte(x: number): number {
  const unit = Math.min(1, Math.max(0, Math.fround(Math.fround(x * 0.5) + 0.5)));
  return roundHalfToEven(Math.fround(unit * 255));
}

/** One byte to [-1, 1], as diffusers' preprocess does in float32: 2·(v/255) − 1. */
export function byteToSignedUnit(byte: number): number {
  return f32(f32(2 * f32(byte / 255)) - 1);
}

function checkedSize(dims: readonly number[], actual: number, what: string): number {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || expected !== actual) {
    throw new FrameShapeMismatch(
      `${what}: shape [${dims.join(', ')}] needs ${expected} values, got ${actual}`,
    );
  }
  return expected;
}

/**
 * Float frames in [-1, 1] (the VAE decoder's or SR U-Net's output) to RGB bytes.
 * `CFHW`: data is [1, 3, F, H, W]; `FCHW`: data is [F, 3, H, W].
 */
export function signedFloatToRgbFrames(
  data: Float32Array,
  dims: { frameCount: number; height: number; width: number },
  layout: ChannelFirstLayout,
): RgbFrames {
  const { frameCount, height, width } = dims;
  checkedSize([frameCount, 3, height, width], data.length, 'float frames');
  const plane = height * width;
  const out = new Uint8Array(frameCount * plane * 3); // [F, H, W, 3]
  for (let f = 0; f < frameCount; f++) {
    for (let c = 0; c < 3; c++) {
      const source = layout === 'CFHW' ? (c * frameCount + f) * plane : (f * 3 + c) * plane;
      const target = f * plane * 3 + c;
      for (let p = 0; p < plane; p++) out[target + p * 3] = signedUnitToByte(data[source + p]!);
    }
  }
  return { data: out, frameCount, height, width };
}

/** RGB bytes [F, H, W, 3] to float frames in [-1, 1], channel-first in `layout`. */
export function rgbFramesToSignedFloat(frames: RgbFrames, layout: ChannelFirstLayout): Float32Array {
  const { frameCount, height, width, data } = frames;
  checkedSize([frameCount, height, width, 3], data.length, 'RGB frames');
  const byteToFloat = new Float32Array(256).map((_, v) => byteToSignedUnit(v));
  const plane = height * width;
  const out = new Float32Array(frameCount * 3 * plane);
  for (let f = 0; f < frameCount; f++) {
    for (let c = 0; c < 3; c++) {
      const target = layout === 'CFHW' ? (c * frameCount + f) * plane : (f * 3 + c) * plane;
      const source = f * plane * 3 + c;
      for (let p = 0; p < plane; p++) out[target + p] = byteToFloat[data[source + p * 3]!]!;
    }
  }
  return out;
}

export type ResizeMode = 'bilinear' | 'bicubic';

/** A stack of 2D planes, [N, H, W] (any channel-first tensor whose last two axes are H, W). */
export interface Planes {
  readonly data: Float32Array; // [N, H, W]
  readonly height: number;
  readonly width: number;
}

/** Keys' cubic convolution with A = −0.75, PyTorch's choice (aten/src/ATen/native/UpSample.h). */
const CUBIC_A = -0.75;
function cubicNear(x: number): number {
  return f32(f32(f32(f32(f32(CUBIC_A + 2) * x) - f32(CUBIC_A + 3)) * x) * x) + 1;
}
function cubicFar(x: number): number {
  const a = CUBIC_A;
  return f32(f32(f32(f32(f32(f32(a * x) - 5 * a) * x) + 8 * a) * x) - 4 * a);
}

/**
 * For each output index along one axis: the source indices (clamped to the edge) and their
 * weights, as F.interpolate(align_corners=False) computes them for a resize of `inSize` to
 * `outSize` (source coordinate (dst + 0.5)·in/out − 0.5; bilinear clamps it at 0, bicubic
 * does not and instead clamps the four taps to the edge).
 */
function axisTaps(
  inSize: number,
  outSize: number,
  mode: ResizeMode,
): { index: Int32Array; weight: Float32Array; taps: number } {
  const taps = mode === 'bicubic' ? 4 : 2;
  const index = new Int32Array(outSize * taps);
  const weight = new Float32Array(outSize * taps);
  const scale = f32(inSize / outSize);
  const clampIndex = (i: number): number => Math.min(Math.max(i, 0), inSize - 1);
  for (let dst = 0; dst < outSize; dst++) {
    const realSource = f32(f32(scale * f32(dst + 0.5)) - 0.5);
    if (mode === 'bilinear') {
      const source = Math.max(realSource, 0);
      const i0 = Math.trunc(source);
      const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
      const lambda1 = f32(source - i0);
      index[dst * 2] = i0;
      index[dst * 2 + 1] = i1;
      weight[dst * 2] = f32(1 - lambda1);
      weight[dst * 2 + 1] = lambda1;
    } else {
      const i = Math.floor(realSource);
      const t = f32(realSource - i);
      const coefficients = [
        cubicFar(f32(t + 1)),
        cubicNear(t),
        cubicNear(f32(1 - t)),
        cubicFar(f32(f32(1 - t) + 1)),
      ];
      for (let k = 0; k < 4; k++) {
        index[dst * 4 + k] = clampIndex(i - 1 + k);
        weight[dst * 4 + k] = coefficients[k]!;
      }
    }
  }
  return { index, weight, taps };
}

/**
 * Resizes every plane to `height`×`width` like torch.nn.functional.interpolate(mode=bilinear |
 * bicubic, align_corners=False, antialias=False): used to upsample the low-resolution frames the
 * SR U-Net is conditioned on (paper §3.4). Values are not clamped (bicubic overshoots, as in
 * PyTorch).
 */
export function resizePlanes(
  planes: Planes,
  size: { height: number; width: number },
  mode: ResizeMode,
): Planes {
  const { height: inH, width: inW, data } = planes;
  const { height: outH, width: outW } = size;
  if (inH <= 0 || inW <= 0 || data.length % (inH * inW) !== 0) {
    throw new FrameShapeMismatch(`planes of ${inH}×${inW} cannot hold ${data.length} values`);
  }
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) {
    throw new FrameShapeMismatch(`cannot resize to ${outH}×${outW}`);
  }
  const planeCount = data.length / (inH * inW);
  const rows = axisTaps(inH, outH, mode);
  const columns = axisTaps(inW, outW, mode);
  const out = new Float32Array(planeCount * outH * outW);
  // Separable: first along the width into [outW] rows for each needed input row, then along the height.
  // Each output is Σ_k fround(weight_k · input_k) accumulated in float32 from 0, taps in order.
  const horizontal = new Float32Array(inH * outW);
  const { index: columnIndex, weight: columnWeight, taps: columnTaps } = columns;
  const { index: rowIndex, weight: rowWeight, taps: rowTaps } = rows;
  for (let n = 0; n < planeCount; n++) {
    const plane = n * inH * inW;
    for (let y = 0; y < inH; y++) {
      const row = plane + y * inW;
      for (let x = 0; x < outW; x++) {
        let sum = 0;
        for (let j = x * columnTaps; j < (x + 1) * columnTaps; j++) {
          sum = Math.fround(sum + Math.fround(columnWeight[j]! * data[row + columnIndex[j]!]!));
        }
        horizontal[y * outW + x] = sum;
      }
    }
    const target = n * outH * outW;
    for (let y = 0; y < outH; y++) {
      const outRow = target + y * outW;
      // Row-wise: out[y, x] (0 in the fresh array) += w · horizontal[source row, x], tap by tap in order.
      for (let j = y * rowTaps; j < (y + 1) * rowTaps; j++) {
        const weight = rowWeight[j]!;
        const sourceRow = rowIndex[j]! * outW;
        for (let x = 0; x < outW; x++) {
          out[outRow + x] = Math.fround(out[outRow + x]! + Math.fround(weight * horizontal[sourceRow + x]!));
        }
      }
    }
  }
  return { data: out, height: outH, width: outW };
}
