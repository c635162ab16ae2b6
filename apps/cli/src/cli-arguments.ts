import { extname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SAMPLER_NAMES, VIDEO_FORMATS, type GenerationRequest, type SamplerName, type VideoFormat } from '@magicvideo/diffusion';
import { UsageError } from './cli-errors';

/** The `magicvideo` command line, parsed into one of these (node:util parseArgs, no framework). */

export type GenerationKind = 'generate' | 'animate' | 'edit';

export interface GenerationCommand {
  kind: GenerationKind;
  /** the request as typed; the model folder's manifest fills the rest */
  request: GenerationRequest;
  /** the image (animate) or video (edit) to start from */
  initPath?: string;
  /** `--models`; the shipped folder when absent */
  modelsDir?: string;
  /** `-o`; `./magicvideo-<seed>.<format>` when absent */
  output?: string;
  threads?: number;
}

export interface ModelsCommand {
  kind: 'models-validate' | 'models-info';
  modelsDir?: string;
}

export interface HelpCommand {
  kind: 'help';
}

export type CliCommand = GenerationCommand | ModelsCommand | HelpCommand;

/** Default SDEdit strengths: an image needs room to move; an edit keeps more of its video. */
export const DEFAULT_STRENGTH: Record<'animate' | 'edit', number> = { animate: 0.8, edit: 0.6 };

export const USAGE = `Usage:
  magicvideo generate "prompt" [options]
  magicvideo animate IMAGE "prompt" [options] [--strength S]     image-to-video (default strength ${DEFAULT_STRENGTH.animate})
  magicvideo edit VIDEO "prompt" [options] [--strength S]        video editing (default strength ${DEFAULT_STRENGTH.edit})
  magicvideo models validate [DIR]                               check a model folder against the contract
  magicvideo models info [DIR]                                   manifest summary and each model's tensors

Options:
  --negative-prompt TEXT
  --seed N              integer in [0, 2^53); random (and printed) when absent
  --steps N             key-frame denoising steps, 1-200 (manifest default)
  --guidance X          classifier-free guidance scale, 0-30 (manifest default)
  --fps X               FPS condition of the key frames, within the model's trained range
  --sampler NAME        ${SAMPLER_NAMES.join(' | ')}
  --interp-steps N      interpolation denoising steps, 1-200
  --sr-steps N          super-resolution denoising steps, 1-200
  --no-interp           skip 4x frame interpolation
  --no-sr               skip super-resolution
  --format LIST         comma-separated: ${VIDEO_FORMATS.join(',')} (default: -o's extension, else mp4)
  --models DIR          model folder (default: the shipped one)
  -o, --output PATH     video path (default ./magicvideo-<seed>.<format>); artifacts go to <name>.artifacts/
  --threads N           onnxruntime intra-op threads
  -h, --help

Exit codes: 0 done, 1 the run failed (files, models, ffmpeg), 2 usage (arguments, ranges), 130 interrupted.`;

const generationOptions = {
  'negative-prompt': { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  guidance: { type: 'string' },
  fps: { type: 'string' },
  sampler: { type: 'string' },
  'interp-steps': { type: 'string' },
  'sr-steps': { type: 'string' },
  'no-interp': { type: 'boolean' },
  'no-sr': { type: 'boolean' },
  format: { type: 'string' },
  models: { type: 'string' },
  output: { type: 'string', short: 'o' },
  threads: { type: 'string' },
  strength: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const modelsOptions = {
  models: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parseStrict<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' own errors (unknown option, missing value) are usage errors; anything else is a bug
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(error.message.split('. To specify')[0] ?? error.message);
    }
    throw error;
  }
}

/** A number as typed, or a usage error naming the flag: `--steps abc` never becomes NaN. */
function numberOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${flag} expects a number, got "${text}"`);
  return value;
}

function samplerOption(text: string | undefined): SamplerName | undefined {
  if (text === undefined) return undefined;
  if (!(SAMPLER_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(`unknown sampler "${text}"; choose one of ${SAMPLER_NAMES.join(', ')}`);
  }
  return text as SamplerName;
}

/** `--format mp4,gif`, else the output path's extension when it names a format. */
function formatsOption(text: string | undefined, output: string | undefined): VideoFormat[] | undefined {
  if (text === undefined) {
    const extension = output === undefined ? '' : extname(output).slice(1).toLowerCase();
    return (VIDEO_FORMATS as readonly string[]).includes(extension) ? [extension as VideoFormat] : undefined;
  }
  const formats = text.split(',').map((format) => format.trim().toLowerCase());
  for (const format of formats) {
    if (!(VIDEO_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`unknown format "${format}" in --format; choose from ${VIDEO_FORMATS.join(', ')}`);
    }
  }
  return formats as VideoFormat[];
}

function positionalsOf(kind: GenerationKind, positionals: string[]): { prompt: string; initPath?: string } {
  const expected = kind === 'generate' ? ['"prompt"'] : [kind === 'animate' ? 'IMAGE' : 'VIDEO', '"prompt"'];
  if (positionals.length !== expected.length) {
    const got = positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ');
    throw new UsageError(`${kind} takes ${expected.join(' ')}, got ${got}`);
  }
  return kind === 'generate' ? { prompt: positionals[0]! } : { initPath: positionals[0]!, prompt: positionals[1]! };
}

function parseGeneration(kind: GenerationKind, args: string[]): GenerationCommand | HelpCommand {
  const { values, positionals } = parseStrict(args, generationOptions);
  if (values.help === true) return { kind: 'help' };
  const { prompt, initPath } = positionalsOf(kind, positionals);
  if (kind === 'generate' && values.strength !== undefined) throw new UsageError('--strength needs an init image or video: use animate or edit');
  const threads = numberOption('--threads', values.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new UsageError('--threads expects a whole number ≥ 1');

  const request: GenerationRequest = {
    prompt,
    negativePrompt: values['negative-prompt'],
    seed: numberOption('--seed', values.seed),
    steps: numberOption('--steps', values.steps),
    guidanceScale: numberOption('--guidance', values.guidance),
    fps: numberOption('--fps', values.fps),
    sampler: samplerOption(values.sampler),
    interpSteps: numberOption('--interp-steps', values['interp-steps']),
    srSteps: numberOption('--sr-steps', values['sr-steps']),
    interpolate: values['no-interp'] === true ? false : undefined,
    superResolution: values['no-sr'] === true ? false : undefined,
    formats: formatsOption(values.format, values.output),
  };
  if (kind !== 'generate') {
    const strength = numberOption('--strength', values.strength) ?? DEFAULT_STRENGTH[kind];
    request.init = { source: kind === 'animate' ? 'image' : 'video', strength };
  }
  return {
    kind,
    request: withoutUndefined(request),
    ...(initPath === undefined ? {} : { initPath }),
    ...(values.models === undefined ? {} : { modelsDir: values.models }),
    ...(values.output === undefined ? {} : { output: values.output }),
    ...(threads === undefined ? {} : { threads }),
  };
}

function parseModels(args: string[]): ModelsCommand | HelpCommand {
  const { values, positionals } = parseStrict(args, modelsOptions);
  if (values.help === true) return { kind: 'help' };
  const [action, directory, ...rest] = positionals;
  if (action !== 'validate' && action !== 'info') {
    throw new UsageError(`models takes validate or info, got ${action === undefined ? 'nothing' : `"${action}"`}`);
  }
  if (rest.length > 0) throw new UsageError(`models ${action} takes one folder, got ${positionals.length - 1}`);
  if (directory !== undefined && values.models !== undefined) throw new UsageError('give the folder once: as DIR or as --models');
  const modelsDir = directory ?? values.models;
  return { kind: action === 'validate' ? 'models-validate' : 'models-info', ...(modelsDir === undefined ? {} : { modelsDir }) };
}

/** argv without node and the script: `['generate', 'a red circle', '--steps', '2']`. */
export function parseCliArguments(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  switch (command) {
    case 'generate':
    case 'animate':
    case 'edit':
      return parseGeneration(command, rest);
    case 'models':
      return parseModels(rest);
    case undefined:
      throw new UsageError('no command given');
    case 'help':
    case '--help':
    case '-h':
      return { kind: 'help' };
    default:
      throw new UsageError(`unknown command "${command}"; commands: generate, animate, edit, models`);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
