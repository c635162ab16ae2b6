import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';

/** The dtype the text encoder's `input_ids` takes (the contract allows both). */
export type TokenIdDtype = 'int64' | 'int32';
export type TokenIds<D extends TokenIdDtype> = D extends 'int32' ? Int32Array : BigInt64Array;

export interface TokenizedPrompt<D extends TokenIdDtype = 'int64'> {
  /** [L]: BOS, the prompt's tokens, EOS, then padding, exactly as tokenizer.json configures. */
  readonly inputIds: TokenIds<D>;
  /** Ids the whole prompt needs, special tokens included, before truncation. */
  readonly tokenCount: number;
  /** True when the prompt needed more than L ids; its end was cut (EOS still closes it). */
  readonly truncated: boolean;
  /** How many of the prompt's tokens were cut: tokenCount − L when truncated, else 0. */
  readonly droppedTokenCount: number;
}

/** tokenizer.json cannot give the fixed-length sequences the text encoder takes. */
export class TokenizerConfigInvalid extends Error {
  readonly code = 'TokenizerConfigInvalid';
  constructor(source: string, detail: string) {
    super(`TokenizerConfigInvalid: ${source}: ${detail}`);
    this.name = 'TokenizerConfigInvalid';
  }
}

type Direction = 'Left' | 'Right';

/** The `truncation` and `padding` sections of tokenizer.json, as the Rust library writes them. */
interface TokenizerJsonSections {
  truncation?: { max_length?: unknown; direction?: unknown } | null;
  padding?: { strategy?: unknown; direction?: unknown; pad_id?: unknown; pad_to_multiple_of?: unknown } | null;
}

interface SequenceLayout {
  readonly maxLength: number;
  readonly truncateFrom: Direction;
  readonly padOn: Direction;
  readonly padId: number;
}

function isDirection(value: unknown): value is Direction {
  return value === 'Left' || value === 'Right';
}

/**
 * Reads truncation and padding from tokenizer.json. `@huggingface/tokenizers` ignores both
 * sections, so this module applies them; it insists on padding to a fixed length equal to the
 * truncation length, since the text encoder (and CFG's cond/uncond pair) take [B, 77].
 */
function sequenceLayout(json: TokenizerJsonSections, source: string): SequenceLayout {
  const { truncation, padding } = json;
  if (truncation == null || padding == null) {
    throw new TokenizerConfigInvalid(source, 'needs both a "truncation" and a "padding" section (fixed-length sequences)');
  }
  const fixed = typeof padding.strategy === 'object' && padding.strategy !== null ? (padding.strategy as { Fixed?: unknown }).Fixed : undefined;
  const maxLength = truncation.max_length;
  if (!Number.isInteger(maxLength) || !Number.isInteger(fixed) || maxLength !== fixed) {
    throw new TokenizerConfigInvalid(
      source,
      `padding must be {"Fixed": n} with n equal to truncation.max_length; got ${JSON.stringify(padding.strategy)} and ${JSON.stringify(maxLength)}`,
    );
  }
  if (padding.pad_to_multiple_of != null && (maxLength as number) % Number(padding.pad_to_multiple_of) !== 0) {
    throw new TokenizerConfigInvalid(source, `pad_to_multiple_of ${String(padding.pad_to_multiple_of)} does not divide ${maxLength}`);
  }
  if (!isDirection(truncation.direction) || !isDirection(padding.direction) || !Number.isInteger(padding.pad_id)) {
    throw new TokenizerConfigInvalid(source, 'truncation/padding need a direction ("Left" or "Right") and padding an integer pad_id');
  }
  return { maxLength: maxLength as number, truncateFrom: truncation.direction, padOn: padding.direction, padId: padding.pad_id as number };
}

/** Stands for the prompt's tokens when asking the post-processor where it puts special tokens. */
const PROMPT_PLACEHOLDER = '\u0000prompt\u0000';

/**
 * The CLIP-style tokenizer of a model folder (`tokenizer/tokenizer.json`), giving the same ids
 * as the Rust/Python `tokenizers` library on the same file: BOS + tokens + EOS, truncated so
 * that the special tokens always survive, padded to L. A prompt that does not fit is reported
 * (`truncated`, `droppedTokenCount`), never silently cut.
 */
export class ClipTokenizer<D extends TokenIdDtype = 'int64'> {
  readonly maxLength: number;
  private readonly layout: SequenceLayout;
  /** The post-processor's template: special-token ids around `null`, the prompt's place. */
  private readonly template: readonly (number | null)[];

  private constructor(
    private readonly tokenizer: Tokenizer,
    json: TokenizerJsonSections,
    private readonly idDtype: D,
    source: string,
  ) {
    this.layout = sequenceLayout(json, source);
    this.maxLength = this.layout.maxLength;
    const templateTokens = tokenizer.post_processor?.post_process([PROMPT_PLACEHOLDER], null, true).tokens ?? [PROMPT_PLACEHOLDER];
    this.template = templateTokens.map((token) => {
      if (token === PROMPT_PLACEHOLDER) return null;
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new TokenizerConfigInvalid(source, `special token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    });
    if (this.template.filter((id) => id === null).length !== 1 || this.template.length > this.maxLength) {
      throw new TokenizerConfigInvalid(source, `the post-processor's template (${templateTokens.join(' ')}) does not fit ${this.maxLength} ids`);
    }
  }

  /** From tokenizer.json's parsed content; `source` names it in errors. */
  static fromJson(json: unknown, options?: { source?: string }): ClipTokenizer<'int64'>;
  static fromJson<D extends TokenIdDtype>(json: unknown, options: { idDtype: D; source?: string }): ClipTokenizer<D>;
  static fromJson(json: unknown, options: { idDtype?: TokenIdDtype; source?: string } = {}): ClipTokenizer<TokenIdDtype> {
    const source = options.source ?? 'tokenizer.json';
    if (typeof json !== 'object' || json === null) throw new TokenizerConfigInvalid(source, 'is not a JSON object');
    // tokenizer_config.json's options (remove_space, lowercasing) are not CLIP's: none are set.
    return new ClipTokenizer(new Tokenizer(json, {}), json as TokenizerJsonSections, options.idDtype ?? 'int64', source);
  }

  encode(prompt: string): TokenizedPrompt<D> {
    const { maxLength, truncateFrom, padOn, padId } = this.layout;
    const promptIds = this.tokenizer.encode(prompt, { add_special_tokens: false }).ids;
    const specialCount = this.template.length - 1;
    const tokenCount = promptIds.length + specialCount;
    // As the Rust library truncates: the prompt alone, to L minus the special tokens.
    const room = maxLength - specialCount;
    const kept =
      promptIds.length <= room ? promptIds : truncateFrom === 'Right' ? promptIds.slice(0, room) : promptIds.slice(promptIds.length - room);
    const sequence = this.template.flatMap((id) => (id === null ? kept : [id]));
    const padding = new Array<number>(maxLength - sequence.length).fill(padId);
    const ids = padOn === 'Right' ? [...sequence, ...padding] : [...padding, ...sequence];
    const truncated = kept.length < promptIds.length;
    return {
      inputIds: (this.idDtype === 'int32' ? Int32Array.from(ids) : BigInt64Array.from(ids, (id) => BigInt(id))) as TokenIds<D>,
      tokenCount,
      truncated,
      droppedTokenCount: promptIds.length - kept.length,
    };
  }
}

/** Reads `tokenizer/tokenizer.json` of a model folder (pass the file's path). */
export async function loadClipTokenizer(tokenizerJsonPath: string): Promise<ClipTokenizer<'int64'>>;
export async function loadClipTokenizer<D extends TokenIdDtype>(tokenizerJsonPath: string, options: { idDtype: D }): Promise<ClipTokenizer<D>>;
export async function loadClipTokenizer(
  tokenizerJsonPath: string,
  options: { idDtype?: TokenIdDtype } = {},
): Promise<ClipTokenizer<TokenIdDtype>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(tokenizerJsonPath, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new TokenizerConfigInvalid(tokenizerJsonPath, `is not JSON (${error.message})`);
    throw error;
  }
  return ClipTokenizer.fromJson(json, { idDtype: options.idDtype ?? 'int64', source: tokenizerJsonPath });
}
