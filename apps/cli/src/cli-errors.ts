import { InvalidRequest, type RequestIssue } from '@magicvideo/diffusion';

/** How the CLI ends (the help text lists them). */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The command line itself is wrong: unknown command or option, a value that is not a number. */
export class UsageError extends Error {
  readonly code = 'UsageError';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An input file the command needs is missing or cannot be read (or decoded as what it should be). */
export class InputFileUnreadable extends Error {
  readonly code = 'InputFileUnreadable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputFileUnreadable';
  }
}

/** The request fields' flags, so a range error names what the user typed. */
const FLAG_OF_FIELD: Record<string, string> = {
  prompt: 'prompt',
  negativePrompt: '--negative-prompt',
  seed: '--seed',
  steps: '--steps',
  guidanceScale: '--guidance',
  fps: '--fps',
  sampler: '--sampler',
  interpSteps: '--interp-steps',
  srSteps: '--sr-steps',
  interpolate: 'interpolation',
  superResolution: 'super-resolution',
  formats: '--format',
  'init.strength': '--strength',
};

function describeIssue(issue: RequestIssue): string {
  const field = FLAG_OF_FIELD[issue.field] ?? FLAG_OF_FIELD[issue.field.replace(/\.\d+$/, '')] ?? issue.field;
  return `${field} ${issue.message}`;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * The exit code and the message of a failed command: one line naming the problem, never a
 * stack trace (a model-folder violation lists each violation on its own line).
 */
export function describeFailure(error: unknown): { exitCode: number; message: string } {
  if (error instanceof UsageError) return { exitCode: EXIT_CODES.usage, message: error.message };
  if (error instanceof InvalidRequest) return { exitCode: EXIT_CODES.usage, message: error.issues.map(describeIssue).join('; ') };
  if (errorCode(error) === 'StageCancelled') return { exitCode: EXIT_CODES.interrupted, message: 'interrupted' };
  if (error instanceof Error) return { exitCode: EXIT_CODES.failed, message: error.message };
  return { exitCode: EXIT_CODES.failed, message: String(error) };
}
