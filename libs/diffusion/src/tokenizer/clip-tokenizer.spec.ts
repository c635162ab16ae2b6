import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer, loadClipTokenizer, TokenizerConfigInvalid } from './clip-tokenizer';

/**
 * tokenizer.json is magicvideo_models' build_tokenizer() output; the reference ids are what the
 * Rust/Python `tokenizers` library returns for it (test/fixtures/tokenizer/make_tokenizer_reference.py).
 */
const fixtures = new URL('../../test/fixtures/tokenizer/', import.meta.url);
const tokenizerJsonPath = fileURLToPath(new URL('tokenizer.json', fixtures));

interface ReferenceCase {
  prompt: string;
  inputIds: number[];
  tokenCount: number;
}

let tokenizerJson: Record<string, unknown>;
let cases: ReferenceCase[];
let tokenizer: ClipTokenizer;
beforeAll(async () => {
  tokenizerJson = JSON.parse(await readFile(tokenizerJsonPath, 'utf8')) as Record<string, unknown>;
  cases = (JSON.parse(await readFile(new URL('tokenizer-reference.json', fixtures), 'utf8')) as { cases: ReferenceCase[] }).cases;
  tokenizer = await loadClipTokenizer(tokenizerJsonPath);
});

const BOS = 1022n;
const EOS = 1023n;

function idList(ids: BigInt64Array): number[] {
  return Array.from(ids, Number);
}

describe('ClipTokenizer', () => {
  it("gives exactly the Python tokenizers library's 77 ids for every reference prompt", () => {
    expect(cases.length).toBeGreaterThan(10);
    for (const { prompt, inputIds } of cases) {
      const encoded = tokenizer.encode(prompt);
      expect(encoded.inputIds, JSON.stringify(prompt)).toBeInstanceOf(BigInt64Array);
      expect(idList(encoded.inputIds), JSON.stringify(prompt)).toEqual(inputIds);
    }
  });

  it('counts the tokens a prompt needs and reports truncation only when they exceed 77', () => {
    for (const { prompt, tokenCount } of cases) {
      const encoded = tokenizer.encode(prompt);
      expect(encoded.tokenCount, JSON.stringify(prompt)).toBe(tokenCount);
      expect(encoded.truncated, JSON.stringify(prompt)).toBe(tokenCount > 77);
      expect(encoded.droppedTokenCount, JSON.stringify(prompt)).toBe(Math.max(0, tokenCount - 77));
    }
    // The reference holds prompts right at the limit on both sides.
    expect(cases.map((c) => c.tokenCount)).toEqual(expect.arrayContaining([77, 78]));
  });

  it('keeps BOS first and EOS last when it truncates', () => {
    const encoded = tokenizer.encode('a green triangle bouncing off the walls of a small room, '.repeat(20));
    expect(encoded.truncated).toBe(true);
    expect(encoded.inputIds.length).toBe(77);
    expect(encoded.inputIds[0]).toBe(BOS);
    expect(encoded.inputIds[76]).toBe(EOS);
    expect(idList(encoded.inputIds.subarray(1, 76))).not.toContain(Number(EOS));
  });

  it('pads a short prompt on the right with the end-of-text token', () => {
    const { inputIds, truncated } = tokenizer.encode('a red circle');
    expect(truncated).toBe(false);
    const eosAt = inputIds.indexOf(EOS);
    expect(idList(inputIds.subarray(eosAt))).toEqual(new Array(77 - eosAt).fill(Number(EOS)));
  });

  it('gives int32 ids when the text encoder takes int32', () => {
    const int32 = ClipTokenizer.fromJson(tokenizerJson, { idDtype: 'int32' });
    const { prompt, inputIds } = cases[1]!;
    const encoded = int32.encode(prompt);
    expect(encoded.inputIds).toBeInstanceOf(Int32Array);
    expect(Array.from(encoded.inputIds)).toEqual(inputIds);
  });

  it('applies truncation from the left when tokenizer.json says so', () => {
    const left = ClipTokenizer.fromJson({ ...tokenizerJson, truncation: { ...(tokenizerJson.truncation as object), direction: 'Left' } });
    const long = cases.find((c) => c.tokenCount > 100)!;
    const right = tokenizer.encode(long.prompt).inputIds;
    const fromLeft = left.encode(long.prompt).inputIds;
    expect(fromLeft[0]).toBe(BOS);
    expect(fromLeft[76]).toBe(EOS);
    // The untruncated prompt's last tokens, not its first.
    const whole = ClipTokenizer.fromJson({
      ...tokenizerJson,
      truncation: { ...(tokenizerJson.truncation as object), max_length: 512 },
      padding: { ...(tokenizerJson.padding as object), strategy: { Fixed: 512 } },
    }).encode(long.prompt).inputIds;
    expect(idList(fromLeft.subarray(1, 76))).toEqual(idList(whole.subarray(long.tokenCount - 76, long.tokenCount - 1)));
    expect(idList(fromLeft)).not.toEqual(idList(right));
  });

  it.each([
    ['no padding section', { padding: null }],
    ['no truncation section', { truncation: null }],
    ['padding to the longest in a batch', { padding: { strategy: 'BatchLongest', direction: 'Right', pad_id: 1023 } }],
    ['padding and truncation lengths that differ', { padding: { strategy: { Fixed: 64 }, direction: 'Right', pad_id: 1023 } }],
  ])('refuses a tokenizer.json with %s (the text encoder takes fixed-length ids)', (_, change) => {
    expect(() => ClipTokenizer.fromJson({ ...tokenizerJson, ...change })).toThrow(TokenizerConfigInvalid);
  });
});
