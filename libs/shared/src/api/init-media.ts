/**
 * What an uploaded init file is, judged by its first bytes, never by the client's file name or
 * Content-Type: the formats the pipeline's decoder reads.
 */
export interface InitMedia {
  kind: 'image' | 'video';
  /** the media type it is stored with on S3 */
  mediaType: string;
}

const ascii = (bytes: Uint8Array, start: number, length: number): string =>
  String.fromCharCode(...bytes.subarray(start, start + length));

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((byte, index) => bytes[offset + index] === byte);

/** The init media an upload is, or undefined when it is none the pipeline reads. */
export function sniffInitMedia(bytes: Uint8Array): InitMedia | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', mediaType: 'image/png' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: 'image', mediaType: 'image/jpeg' };
  if (bytes.length >= 6 && ['GIF87a', 'GIF89a'].includes(ascii(bytes, 0, 6))) return { kind: 'image', mediaType: 'image/gif' };
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return { kind: 'image', mediaType: 'image/webp' };
  // ISO base media (MP4, MOV): a box of type `ftyp` first; its major brand tells QuickTime apart.
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === 'ftyp') {
    return { kind: 'video', mediaType: ascii(bytes, 8, 4) === 'qt  ' ? 'video/quicktime' : 'video/mp4' };
  }
  // EBML (Matroska, WebM): the DocType element near the start says which.
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    return { kind: 'video', mediaType: ascii(bytes, 0, Math.min(bytes.length, 64)).includes('webm') ? 'video/webm' : 'video/x-matroska' };
  }
  return undefined;
}
