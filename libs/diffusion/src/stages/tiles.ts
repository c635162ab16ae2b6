/**
 * Tiles for running the super-resolution U-Net on a frame piece by piece, so that no model call
 * holds the whole frame's activations (paper §3.4 runs the SR model at the full output size).
 *
 * Exact by construction (docs/design-notes.md): the SR U-Net normalises per pixel and has no
 * attention, so an output pixel depends only on inputs within the manifest's
 * `super_resolution.receptive_field_radius`. Each tile is a core plus a halo of at least that
 * radius on every side (clipped at the frame's borders, where the whole-frame run sees the same
 * zero padding), so the model's output on the tile equals the whole-frame output in the core;
 * only the core is kept, and the cores cover the frame exactly once. No blending.
 *
 * Every tile starts at a multiple of `super_resolution.size_multiple` (cores and halos are
 * multiples of it): the U-Net down-samples by strided convolutions, and a tile off that grid
 * would pool different pixels together than the whole frame does.
 */

/** One axis of a tile: the span the model runs on and, inside it, the core it keeps. */
export interface TileSpan {
  readonly start: number;
  readonly size: number;
  readonly coreStart: number;
  readonly coreSize: number;
}

/** A rectangle of a frame, in pixels of the model's input. */
export interface Region {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** One tile: the region the model runs on and the core of it that goes into the frame. */
export interface Tile extends Region {
  readonly core: Region;
}

export interface TilePlan {
  readonly height: number;
  readonly width: number;
  readonly tiles: readonly Tile[];
}

/** How a frame is cut: cores of `coreSize`, each run with `halo` pixels of context per side. */
export interface TileGeometry {
  readonly coreSize: number;
  readonly halo: number;
  /** Every tile start, core size and halo is a multiple of this (the model's size multiple). */
  readonly sizeMultiple: number;
}

/** The halo that makes tiles exact: the receptive field radius rounded up to the size multiple. */
export function exactTilingHalo(receptiveFieldRadius: number, sizeMultiple: number): number {
  if (!Number.isInteger(receptiveFieldRadius) || receptiveFieldRadius < 0) {
    throw new RangeError(
      `receptive field radius must be a non-negative integer, got ${receptiveFieldRadius}`,
    );
  }
  checkPositiveInteger('size multiple', sizeMultiple);
  return Math.ceil(receptiveFieldRadius / sizeMultiple) * sizeMultiple;
}

/**
 * Spans along an axis of `length`: cores [k·coreSize, (k+1)·coreSize) (the last one shorter
 * when the length is not a multiple of the core), each extended by `halo` on both sides and
 * clipped to [0, length). When the first tile's halo already reaches the end of the axis, any
 * tiling would run at least the whole axis: one span of the whole length.
 */
export function planTileSpans(length: number, geometry: TileGeometry): TileSpan[] {
  const { coreSize, halo, sizeMultiple } = geometry;
  checkPositiveInteger('length', length);
  checkPositiveInteger('size multiple', sizeMultiple);
  checkMultiple('length', length, sizeMultiple);
  checkPositiveInteger('tile core size', coreSize);
  checkMultiple('tile core size', coreSize, sizeMultiple);
  if (!Number.isInteger(halo) || halo < 0)
    throw new RangeError(`halo must be a non-negative integer, got ${halo}`);
  checkMultiple('halo', halo, sizeMultiple);
  if (coreSize + halo >= length) return [{ start: 0, size: length, coreStart: 0, coreSize: length }];
  const spans: TileSpan[] = [];
  for (let coreStart = 0; coreStart < length; coreStart += coreSize) {
    const coreEnd = Math.min(coreStart + coreSize, length);
    const start = Math.max(0, coreStart - halo);
    const end = Math.min(length, coreEnd + halo);
    spans.push({ start, size: end - start, coreStart, coreSize: coreEnd - coreStart });
  }
  return spans;
}

/** Tiles of a frame, row by row: every row span crossed with every column span. */
export function planTiles(frame: { height: number; width: number }, geometry: TileGeometry): TilePlan {
  const rows = planTileSpans(frame.height, geometry);
  const columns = planTileSpans(frame.width, geometry);
  const tiles = rows.flatMap((row) =>
    columns.map((column): Tile => ({
      top: row.start,
      left: column.start,
      height: row.size,
      width: column.size,
      core: { top: row.coreStart, left: column.coreStart, height: row.coreSize, width: column.coreSize },
    })),
  );
  return { height: frame.height, width: frame.width, tiles };
}

/** The whole frame as one tile: the untiled run. */
export function wholeFramePlan(frame: { height: number; width: number }): TilePlan {
  const whole = { top: 0, left: 0, height: frame.height, width: frame.width };
  return { height: frame.height, width: frame.width, tiles: [{ ...whole, core: whole }] };
}

/** The region's pixels of every plane of `planes` [P, H, W] → [P, region.height, region.width]. */
export function cropRegion(
  planes: Float32Array,
  frame: { height: number; width: number },
  region: Region,
): Float32Array {
  const planeCount = planeCountOf(planes.length, frame);
  const out = new Float32Array(planeCount * region.height * region.width);
  for (let p = 0; p < planeCount; p++) {
    for (let y = 0; y < region.height; y++) {
      const source = (p * frame.height + region.top + y) * frame.width + region.left;
      out.set(planes.subarray(source, source + region.width), (p * region.height + y) * region.width);
    }
  }
  return out;
}

/**
 * Copies the core of `tileOutput` (the model's output on `tile`, [P, tile.height, tile.width])
 * into its place in `frameOutput` [P, H, W]; the halo's pixels are dropped.
 */
export function pasteTileCore(
  frameOutput: Float32Array,
  frame: { height: number; width: number },
  tile: Tile,
  tileOutput: Float32Array,
): void {
  const planeCount = planeCountOf(frameOutput.length, frame);
  if (tileOutput.length !== planeCount * tile.height * tile.width) {
    throw new RangeError(
      `tile output has ${tileOutput.length} values, expected ${planeCount}×${tile.height}×${tile.width}`,
    );
  }
  const { core } = tile;
  const rowOffset = core.top - tile.top;
  const columnOffset = core.left - tile.left;
  for (let p = 0; p < planeCount; p++) {
    for (let y = 0; y < core.height; y++) {
      const source = (p * tile.height + rowOffset + y) * tile.width + columnOffset;
      frameOutput.set(
        tileOutput.subarray(source, source + core.width),
        (p * frame.height + core.top + y) * frame.width + core.left,
      );
    }
  }
}

function planeCountOf(values: number, frame: { height: number; width: number }): number {
  const planeCount = values / (frame.height * frame.width);
  if (!Number.isInteger(planeCount)) {
    throw new RangeError(`planes of ${frame.height}×${frame.width} cannot hold ${values} values`);
  }
  return planeCount;
}

function checkPositiveInteger(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${what} must be a positive integer, got ${value}`);
}

function checkMultiple(what: string, value: number, sizeMultiple: number): void {
  if (value % sizeMultiple !== 0) {
    throw new RangeError(`${what} ${value} is not a multiple of the model's size multiple ${sizeMultiple}`);
  }
}
