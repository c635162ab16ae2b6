import { spawn } from 'node:child_process';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FfmpegNotFound } from './ffmpeg-path';

/** How much of ffmpeg's stderr a failure keeps: the end is where ffmpeg says what went wrong. */
const STDERR_TAIL_CHARS = 4000;

export interface FfmpegRun {
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  /** Written to ffmpeg's stdin with backpressure (each chunk waits for the pipe to drain). */
  readonly input?: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Receives ffmpeg's stdout and is ended with it; without it, stdout is collected and returned. */
  readonly output?: Writable;
  /** Aborting kills ffmpeg (SIGKILL) and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Builds the error thrown when ffmpeg fails, from a message that ends with stderr's tail. */
  readonly failure: (message: string, cause?: unknown) => Error;
}

export interface FfmpegResult {
  /** Empty when `output` was given. */
  readonly stdout: Buffer;
  /** The last few thousand characters ffmpeg wrote to stderr. */
  readonly stderrTail: string;
}

function isErrnoError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

/** Runs ffmpeg once: streams `input` in, stdout out, and settles when the process has exited. */
export async function runFfmpeg(run: FfmpegRun): Promise<FfmpegResult> {
  const { signal } = run;
  signal?.throwIfAborted();

  const child = spawn(run.ffmpegPath, [...run.args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', killOnAbort, { once: true });

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
  });

  const exited = new Promise<{ code: number | null; killedBy: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, killedBy) => resolve({ code, killedBy }));
  });

  // A failure on our side of a pipe (the frame source throws, the output stream errors) must
  // not let ffmpeg finish a truncated file with exit code 0: kill it, report the cause.
  let pipeFailure: unknown;
  const failPipe = (error: unknown): void => {
    pipeFailure ??= error;
    child.kill('SIGKILL');
  };
  // Without input, stdin is closed at once: ffmpeg reads EOF rather than waiting on a terminal.
  const feeding = pipeline(Readable.from(run.input ?? [], { objectMode: false }), child.stdin).catch(failPipe);
  const stdoutChunks: Buffer[] = [];
  const draining =
    run.output === undefined
      ? (async () => {
          for await (const chunk of child.stdout) stdoutChunks.push(chunk as Buffer);
        })().catch(failPipe)
      : pipeline(child.stdout, run.output).catch(failPipe);

  try {
    const [exit] = await Promise.all([exited, feeding, draining]);
    if (signal?.aborted) throw signal.reason;
    if (exit.code !== 0) {
      const how = exit.killedBy === null ? `exited with code ${exit.code}` : `was killed by ${exit.killedBy}`;
      const after = pipeFailure === undefined ? '' : ` after a stream failure (${String(pipeFailure)})`;
      throw run.failure(`ffmpeg ${how}${after}; stderr: ${stderrTail.trim()}`, pipeFailure);
    }
    if (pipeFailure !== undefined) {
      throw run.failure(`ffmpeg's pipes failed (${String(pipeFailure)}); stderr: ${stderrTail.trim()}`, pipeFailure);
    }
    return { stdout: Buffer.concat(stdoutChunks), stderrTail };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (isErrnoError(error) && (error.code === 'ENOENT' || error.code === 'EACCES')) {
      throw new FfmpegNotFound(`cannot run ${run.ffmpegPath} (${error.code})`, { cause: error });
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', killOnAbort);
  }
}
