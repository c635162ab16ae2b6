import { describe, expect, it } from 'vitest';
import { sniffInitMedia } from './init-media';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));

describe('sniffInitMedia', () => {
  it.each([
    ['PNG', bytes([0x89], 'PNG\r\n\x1a\n', 'IHDR'), { kind: 'image', mediaType: 'image/png' }],
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'), { kind: 'image', mediaType: 'image/jpeg' }],
    ['GIF89a', bytes('GIF89a', [1, 0, 1, 0]), { kind: 'image', mediaType: 'image/gif' }],
    ['GIF87a', bytes('GIF87a', [1, 0, 1, 0]), { kind: 'image', mediaType: 'image/gif' }],
    ['WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), { kind: 'image', mediaType: 'image/webp' }],
    ['MP4', bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0]), { kind: 'video', mediaType: 'video/mp4' }],
    ['MOV', bytes([0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 2, 0]), { kind: 'video', mediaType: 'video/quicktime' }],
    ['WebM', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm'), { kind: 'video', mediaType: 'video/webm' }],
    ['MKV', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska'), { kind: 'video', mediaType: 'video/x-matroska' }],
  ])('recognises %s from its first bytes', (_name, upload, expected) => {
    expect(sniffInitMedia(upload)).toEqual(expected);
  });

  it.each([
    ['text', bytes('a red circle moving right')],
    ['PDF', bytes('%PDF-1.7')],
    ['a RIFF that is not WebP (WAV)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
    ['a truncated PNG signature', bytes([0x89], 'PNG')],
    ['nothing', new Uint8Array(0)],
  ])('refuses %s', (_name, upload) => {
    expect(sniffInitMedia(upload)).toBeUndefined();
  });
});
