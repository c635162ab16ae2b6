/**
 * Overlapping tiles for running the super-resolution U-Net on frames larger than one model call
 * should see (paper §3.4: the SR model is trained on crops and run on whole frames), and the
 * blend of the tiles' outputs back into one frame.
 *
 * The blend runs on the model's output at EVERY denoising step, as MultiDiffusion (Bar-Tal et
 * al. 2023) does: the sampler then steps one coherent frame, and tile seams cannot drift apart
 * over the steps. Each tile's weight ramps smoothly (sin²) to zero across the overlap with its
 * neighbour and is 1 elsewhere, frame borders included; the weighted sum is normalised.
 *
 * Exactness: with one tile covering the frame the blend is the identity. With several tiles it
 * is NOT the whole-frame output: the SR U-Net's GroupNorm normalises over each call's whole
 * spatial extent, so a tile's activations differ from the same pixels' in a whole-frame call
 * everywhere, not only within the receptive-field halo.
 */

/** A tile's extent along one axis. */
export interface TileSpan {
  readonly start: number;
  readonly size: number;
}

/** One tile of a frame, in pixels of the model's input. */
export interface Tile {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Spans of `tileSize` covering [0, length), consecutive spans overlapping by at least `overlap`:
 * starts at multiples of the stride tileSize − overlap, the last moved back to end at `length`
 * (so every span has the full size, a size the model accepts). When tileSize ≥ length, one
 * span of the whole length. A stride that is a multiple of the model's size multiple keeps
 * every tile on the grid the whole frame's down-samplings use.
 */
export function planTileSpans(length: number, tileSize: number, overlap: number): TileSpan[] {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (!Number.isInteger(tileSize) || tileSize < 1) {
    throw new RangeError(`tileSize must be a positive integer, got ${tileSize}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= tileSize) {
    throw new RangeError(`tileOverlap must be an integer in [0, tileSize), got ${overlap} for tile ${tileSize}`);
  }
  if (tileSize >= length) return [{ start: 0, size: length }];
  const stride = tileSize - overlap;
  const spans: TileSpan[] = [];
  for (let start = 0; ; start += stride) {
    if (start + tileSize >= length) {
      spans.push({ start: length - tileSize, size: tileSize });
      return spans;
    }
    spans.push({ start, size: tileSize });
  }
}

/** sin² ramp over `ramp` positions rising from near 0 to near 1: two facing ramps of one length sum to 1. */
function rampUp(position: number, ramp: number): number {
  if (position >= ramp) return 1;
  const s = Math.sin(((position + 0.5) / ramp) * (Math.PI / 2));
  return s * s;
}

/** Per span, its blend weight at each position along the axis: it ramps across the overlap with each neighbour. */
export function spanBlendWeights(spans: readonly TileSpan[]): Float32Array[] {
  return spans.map((span, i) => {
    const previous = spans[i - 1];
    const next = spans[i + 1];
    const overlapBefore = previous ? Math.max(0, previous.start + previous.size - span.start) : 0;
    const overlapAfter = next ? Math.max(0, span.start + span.size - next.start) : 0;
    const weights = new Float32Array(span.size);
    for (let p = 0; p < span.size; p++) {
      weights[p] = Math.min(rampUp(p, overlapBefore), rampUp(span.size - 1 - p, overlapAfter));
    }
    return weights;
  });
}

/** Tiles of a frame and their separable blend weights. */
export interface TilePlan {
  readonly height: number;
  readonly width: number;
  readonly tiles: readonly Tile[];
  /** Per tile: weights along its rows [tile.height] and columns [tile.width]. */
  readonly rowWeights: readonly Float32Array[];
  readonly columnWeights: readonly Float32Array[];
}

export function planTiles(frame: { height: number; width: number }, tileSize: number, overlap: number): TilePlan {
  const rowSpans = planTileSpans(frame.height, tileSize, overlap);
  const columnSpans = planTileSpans(frame.width, tileSize, overlap);
  const rowSpanWeights = spanBlendWeights(rowSpans);
  const columnSpanWeights = spanBlendWeights(columnSpans);
  const tiles: Tile[] = [];
  const rowWeights: Float32Array[] = [];
  const columnWeights: Float32Array[] = [];
  rowSpans.forEach((row, r) => {
    columnSpans.forEach((column, c) => {
      tiles.push({ top: row.start, left: column.start, height: row.size, width: column.size });
      rowWeights.push(rowSpanWeights[r]!);
      columnWeights.push(columnSpanWeights[c]!);
    });
  });
  return { height: frame.height, width: frame.width, tiles, rowWeights, columnWeights };
}

/** The tile's pixels of every plane of `planes` [P, H, W] → [P, tile.height, tile.width]. */
export function cropTile(planes: Float32Array, frame: { height: number; width: number }, tile: Tile): Float32Array {
  const { height, width } = frame;
  const planeCount = planes.length / (height * width);
  if (!Number.isInteger(planeCount)) {
    throw new RangeError(`planes of ${height}×${width} cannot hold ${planes.length} values`);
  }
  const out = new Float32Array(planeCount * tile.height * tile.width);
  for (let p = 0; p < planeCount; p++) {
    for (let y = 0; y < tile.height; y++) {
      const source = (p * height + tile.top + y) * width + tile.left;
      out.set(planes.subarray(source, source + tile.width), (p * tile.height + y) * tile.width);
    }
  }
  return out;
}

/**
 * Accumulates the model's outputs on the tiles of `plan` into one output of the whole frame,
 * [P, H, W] for P planes (batch × channels), weighted and normalised.
 */
export class TileBlend {
  private readonly sum: Float32Array;
  private readonly weightSum: Float32Array; // [H, W]: the same for every plane

  constructor(
    private readonly plan: TilePlan,
    private readonly planeCount: number,
  ) {
    this.sum = new Float32Array(planeCount * plan.height * plan.width);
    this.weightSum = new Float32Array(plan.height * plan.width);
  }

  /** Adds the output [P, tile.height, tile.width] of tile number `tileIndex` of the plan. */
  add(tileIndex: number, output: Float32Array): void {
    const tile = this.plan.tiles[tileIndex];
    if (!tile) throw new RangeError(`no tile ${tileIndex} in a plan of ${this.plan.tiles.length}`);
    if (output.length !== this.planeCount * tile.height * tile.width) {
      throw new RangeError(
        `tile ${tileIndex} output has ${output.length} values, expected ${this.planeCount}×${tile.height}×${tile.width}`,
      );
    }
    const rows = this.plan.rowWeights[tileIndex]!;
    const columns = this.plan.columnWeights[tileIndex]!;
    const { height, width } = this.plan;
    for (let y = 0; y < tile.height; y++) {
      const frameRow = (tile.top + y) * width + tile.left;
      for (let x = 0; x < tile.width; x++) this.weightSum[frameRow + x]! += rows[y]! * columns[x]!;
    }
    for (let p = 0; p < this.planeCount; p++) {
      for (let y = 0; y < tile.height; y++) {
        const frameRow = (p * height + tile.top + y) * width + tile.left;
        const tileRow = (p * tile.height + y) * tile.width;
        const rowWeight = rows[y]!;
        for (let x = 0; x < tile.width; x++) {
          this.sum[frameRow + x]! += rowWeight * columns[x]! * output[tileRow + x]!;
        }
      }
    }
  }

  /** The blended output [P, H, W]; every pixel must have been covered by a tile. */
  result(): Float32Array {
    const plane = this.plan.height * this.plan.width;
    const out = new Float32Array(this.sum.length);
    for (let i = 0; i < plane; i++) {
      const weight = this.weightSum[i]!;
      if (!(weight > 0)) throw new RangeError(`pixel ${i} of the frame was covered by no tile`);
      for (let p = 0; p < this.planeCount; p++) out[p * plane + i] = this.sum[p * plane + i]! / weight;
    }
    return out;
  }
}
