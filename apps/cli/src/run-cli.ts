import { parseCliArguments, USAGE } from './cli-arguments';
import { describeFailure, EXIT_CODES, UsageError } from './cli-errors';
import { runGeneration } from './generate-command';
import { describeModels, validateModels } from './models-command';
import type { ProgressOutput } from './progress-display';

export interface CliEnvironment {
  out: ProgressOutput;
  err: { write(text: string): unknown };
  cwd: string;
  signal: AbortSignal;
  defaultModelsDir: () => Promise<string>;
}

/** Runs one `magicvideo` command line; resolves with the process's exit code, never throws. */
export async function runCli(argv: readonly string[], env: CliEnvironment): Promise<number> {
  try {
    const command = parseCliArguments(argv);
    switch (command.kind) {
      case 'help':
        env.out.write(`${USAGE}\n`);
        return EXIT_CODES.ok;
      case 'models-validate':
        await validateModels(command.modelsDir ?? (await env.defaultModelsDir()), env.out);
        return EXIT_CODES.ok;
      case 'models-info':
        await describeModels(command.modelsDir ?? (await env.defaultModelsDir()), env.out);
        return EXIT_CODES.ok;
      default:
        await runGeneration(command, env);
        return EXIT_CODES.ok;
    }
  } catch (error) {
    const { exitCode, message } = describeFailure(error);
    const hint = error instanceof UsageError ? ' (magicvideo --help lists the commands and options)' : '';
    env.err.write(`magicvideo: ${message}${hint}\n`);
    return exitCode;
  }
}
