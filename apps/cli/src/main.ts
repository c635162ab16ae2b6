// `magicvideo`: the whole pipeline in one process, and model-folder tools (DESIGN.md §2, §9).
import { defaultModelFolder } from './default-model-folder';
import { runCli } from './run-cli';

const entryScript = process.argv[1] ?? __filename;
const interrupt = new AbortController();
// the first Ctrl-C cancels between denoising steps (exit 130); a second one ends at once
process.once('SIGINT', () => {
  interrupt.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', () => process.exit(130));
});

runCli(process.argv.slice(2), {
  out: process.stdout,
  err: process.stderr,
  cwd: process.cwd(),
  signal: interrupt.signal,
  defaultModelsDir: () => defaultModelFolder(entryScript),
}).then((exitCode) => {
  process.exitCode = exitCode;
});
