import type { ModelFolder } from '../sessions/model-folder';
import type { FloatTensor, IntTensor } from '../sessions/tensor-dtypes';
import type { TokenizedPrompt, TokenIdDtype } from '../tokenizer/clip-tokenizer';
import { throwIfCancelled } from './stage-cancelled';
import type { StageContext } from './stage-context';

export interface TextPrompt {
  prompt: string;
  /** The unconditional branch's text; absent means the empty prompt, as diffusers' pipelines use. */
  negativePrompt?: string;
}

/** How the prompt fitted the text encoder's L tokens: truncation is reported, never silent. */
export interface PromptTokenReport {
  tokenCount: number;
  truncated: boolean;
  droppedTokenCount: number;
}

/** The text condition of one video (the `text.safetensors` artifact, DESIGN.md §4). */
export interface EncodedText {
  /** [1, L, D] last_hidden_state of the prompt */
  cond: FloatTensor;
  /** [1, L, D] last_hidden_state of the negative (or empty) prompt */
  uncond: FloatTensor;
  promptTokens: PromptTokenReport;
}

const TEXT_OUTPUT = 'last_hidden_state';

/**
 * Encodes the prompt and the negative prompt with the folder's text encoder in one batch
 * `[uncond, cond]`, the order classifier-free guidance uses (docs/models.md, "Sampling"); the
 * contract makes every model's batch dynamic, so both always fit one call.
 */
export async function encodeText(
  folder: ModelFolder,
  text: TextPrompt,
  ctx: StageContext = {},
): Promise<EncodedText> {
  throwIfCancelled('text', ctx.signal);
  const promptTokens = folder.tokenizer.encode(text.prompt);
  const negativeTokens = folder.tokenizer.encode(text.negativePrompt ?? '');
  const length = promptTokens.inputIds.length;
  const textEncoder = await folder.runner('text_encoder');
  const outputs = await textEncoder.run({
    input_ids: { data: concatIds(negativeTokens, promptTokens), dims: [2, length] },
  });
  const hidden = outputs[TEXT_OUTPUT];
  if (hidden === undefined) throw new Error(`text_encoder returned no ${TEXT_OUTPUT}`);
  const [batch, tokens, width] = hidden.dims as [number, number, number];
  if (hidden.dims.length !== 3 || batch !== 2 || tokens !== length) {
    throw new Error(
      `text_encoder returned ${TEXT_OUTPUT} of dims [${hidden.dims.join(', ')}] for input_ids [2, ${length}]`,
    );
  }
  const perPrompt = tokens * width;
  throwIfCancelled('text', ctx.signal);
  ctx.onProgress?.({ stage: 'text', step: 1, totalSteps: 1 });
  return {
    uncond: { data: hidden.data.slice(0, perPrompt), dims: [1, tokens, width] },
    cond: { data: hidden.data.slice(perPrompt, 2 * perPrompt), dims: [1, tokens, width] },
    promptTokens: {
      tokenCount: promptTokens.tokenCount,
      truncated: promptTokens.truncated,
      droppedTokenCount: promptTokens.droppedTokenCount,
    },
  };
}

/** [2, L] ids, the first prompt's row first. */
function concatIds(
  first: TokenizedPrompt<TokenIdDtype>,
  second: TokenizedPrompt<TokenIdDtype>,
): IntTensor['data'] {
  const a = first.inputIds;
  const b = second.inputIds;
  if (a instanceof Int32Array && b instanceof Int32Array) {
    const ids = new Int32Array(a.length + b.length);
    ids.set(a);
    ids.set(b, a.length);
    return ids;
  }
  const ids = new BigInt64Array(a.length + b.length);
  ids.set(a instanceof BigInt64Array ? a : BigInt64Array.from(a, BigInt));
  ids.set(b instanceof BigInt64Array ? b : BigInt64Array.from(b, BigInt), a.length);
  return ids;
}
