import { readFile, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';

/**
 * The safetensors format (DESIGN.md §4), as Hugging Face's `safetensors` reads and writes it:
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   a UTF-8 JSON object: name → { dtype, shape, data_offsets: [begin, end] }, plus an
 *             optional "__metadata__" object of string → string; padded with spaces
 *   rest      the tensors' raw little-endian bytes, offsets relative to the end of the header,
 *             contiguous and covering the rest of the file exactly
 */

/** The dtypes this project stores, and the typed array each one is held in. */
export interface DtypeArrays {
  F32: Float32Array;
  /** IEEE 754 half precision, held as its raw bits (Node 20 has no Float16Array). */
  F16: Uint16Array;
  U8: Uint8Array;
  I32: Int32Array;
  I64: BigInt64Array;
}
export type SafetensorsDtype = keyof DtypeArrays;
export const SAFETENSORS_DTYPES = [
  'F32',
  'F16',
  'U8',
  'I32',
  'I64',
] as const satisfies readonly SafetensorsDtype[];

export type Tensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: readonly number[]; data: DtypeArrays[D] };
}[SafetensorsDtype];
export type TensorMap = Record<string, Tensor>;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

const ELEMENT_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, U8: 1, I32: 4, I64: 8 };
const VIEW_OF: {
  [D in SafetensorsDtype]: (buffer: ArrayBufferLike, byteOffset: number, length: number) => DtypeArrays[D];
} = {
  F32: (buffer, byteOffset, length) => new Float32Array(buffer, byteOffset, length),
  F16: (buffer, byteOffset, length) => new Uint16Array(buffer, byteOffset, length),
  U8: (buffer, byteOffset, length) => new Uint8Array(buffer, byteOffset, length),
  I32: (buffer, byteOffset, length) => new Int32Array(buffer, byteOffset, length),
  I64: (buffer, byteOffset, length) => new BigInt64Array(buffer, byteOffset, length),
};
/** The same limit as the Rust implementation, so we refuse exactly what Python would refuse. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

export class SafetensorsFormatError extends Error {
  readonly code = 'InvalidSafetensors';
  constructor(message: string) {
    super(`InvalidSafetensors: ${message}`);
    this.name = 'SafetensorsFormatError';
  }
}

interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

function assertLittleEndianHost(): void {
  // Typed arrays use the host's byte order; the format is little-endian.
  if (endianness() !== 'LE') throw new Error('safetensors I/O needs a little-endian host');
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value);
}

/** Serialises tensors; ordered by element size then name, so each tensor's data is aligned to its element size. */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  assertLittleEndianHost();
  const names = Object.keys(tensors).sort((a, b) => {
    const bySize = ELEMENT_BYTES[tensors[b]!.dtype] - ELEMENT_BYTES[tensors[a]!.dtype];
    return bySize !== 0 ? bySize : a < b ? -1 : a > b ? 1 : 0;
  });
  // Entries, not assignments: a tensor may be called "__proto__", which assignment would swallow.
  const headerEntries: [string, unknown][] =
    Object.keys(metadata).length > 0 ? [[METADATA_KEY, metadata]] : [];
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY)
      throw new SafetensorsFormatError(`"${METADATA_KEY}" is reserved, not a tensor name`);
    const tensor = tensors[name]!;
    if (!tensor.shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
      throw new SafetensorsFormatError(
        `tensor "${name}": shape [${tensor.shape.join(', ')}] must be non-negative integers`,
      );
    }
    const count = elementCount(tensor.shape);
    if (tensor.data.length !== count) {
      throw new SafetensorsFormatError(
        `tensor "${name}": shape [${tensor.shape.join(', ')}] holds ${count} elements, data has ${tensor.data.length}`,
      );
    }
    const end = offset + tensor.data.byteLength;
    headerEntries.push([
      name,
      { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, end] },
    ]);
    offsets.set(name, offset);
    offset = end;
  }
  let headerJson = JSON.stringify(Object.fromEntries(headerEntries));
  const unpadded = Buffer.byteLength(headerJson, 'utf8');
  headerJson += ' '.repeat((8 - ((8 + unpadded) % 8)) % 8);
  const headerBytes = Buffer.from(headerJson, 'utf8');

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  for (const name of names) {
    const tensor = tensors[name]!;
    out.set(
      new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      dataStart + offsets.get(name)!,
    );
  }
  return out;
}

/**
 * Parses a safetensors buffer, validating it as strictly as the reference implementation.
 * Tensor data are views into `bytes` when aligned (always, for files written by either
 * implementation), copies otherwise.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  assertLittleEndianHost();
  if (bytes.length < 8)
    throw new SafetensorsFormatError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new SafetensorsFormatError(
      `header length ${headerLength} exceeds the file (${bytes.length} bytes) or the 100 MB limit`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw new SafetensorsFormatError(`header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsFormatError('header is not a JSON object');
  }

  const { [METADATA_KEY]: rawMetadata, ...rawEntries } = header as Record<string, unknown>;
  const metadata = parseMetadata(rawMetadata);
  const entries = Object.entries(rawEntries).map(([name, entry]) => [name, parseEntry(name, entry)] as const);
  const dataLength = bytes.length - dataStart;
  let expectedBegin = 0;
  // By begin, then end: an empty tensor shares its begin with the tensor after it.
  const byOffset = [...entries].sort(
    (a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1],
  );
  for (const [name, entry] of byOffset) {
    const [begin, end] = entry.data_offsets;
    if (begin !== expectedBegin) {
      throw new SafetensorsFormatError(
        `tensor "${name}" starts at ${begin}, expected ${expectedBegin} (data must be contiguous)`,
      );
    }
    expectedBegin = end;
  }
  if (expectedBegin !== dataLength) {
    throw new SafetensorsFormatError(
      `tensors cover ${expectedBegin} data bytes, the file holds ${dataLength}`,
    );
  }

  const tensors: [string, Tensor][] = [];
  for (const [name, entry] of entries) {
    const [begin, end] = entry.data_offsets;
    const start = bytes.byteOffset + dataStart + begin;
    const elementBytes = ELEMENT_BYTES[entry.dtype];
    const count = (end - begin) / elementBytes;
    const data =
      start % elementBytes === 0
        ? VIEW_OF[entry.dtype](bytes.buffer, start, count)
        : VIEW_OF[entry.dtype](bytes.slice(dataStart + begin, dataStart + end).buffer, 0, count);
    tensors.push([name, { dtype: entry.dtype, shape: entry.shape, data } as Tensor]);
  }
  return { tensors: Object.fromEntries(tensors), metadata };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsFormatError(`"${METADATA_KEY}" must be an object of strings`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw new SafetensorsFormatError(`metadata "${key}" must be a string`);
  }
  return raw as Record<string, string>;
}

function parseEntry(name: string, raw: unknown): HeaderEntry {
  const entry = raw as Partial<Record<keyof HeaderEntry, unknown>> | null;
  if (typeof entry !== 'object' || entry === null)
    throw new SafetensorsFormatError(`tensor "${name}": entry is not an object`);
  if (!isSafetensorsDtype(entry.dtype)) {
    throw new SafetensorsFormatError(
      `tensor "${name}": dtype ${JSON.stringify(entry.dtype)} is not one of ${SAFETENSORS_DTYPES.join(', ')}`,
    );
  }
  const { shape, data_offsets: offsets } = entry;
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw new SafetensorsFormatError(`tensor "${name}": shape must be an array of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) ||
    offsets[1] < offsets[0]
  ) {
    throw new SafetensorsFormatError(
      `tensor "${name}": data_offsets must be [begin, end] with 0 <= begin <= end`,
    );
  }
  const byteLength = offsets[1] - offsets[0];
  const expected = elementCount(shape) * ELEMENT_BYTES[entry.dtype];
  if (byteLength !== expected) {
    throw new SafetensorsFormatError(
      `tensor "${name}": ${entry.dtype} [${shape.join(', ')}] needs ${expected} bytes, data_offsets span ${byteLength}`,
    );
  }
  return { dtype: entry.dtype, shape, data_offsets: [offsets[0], offsets[1]] };
}

export async function writeSafetensorsFile(
  path: string,
  tensors: TensorMap,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  return decodeSafetensors(await readFile(path));
}
