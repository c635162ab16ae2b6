import type { Logger } from 'pino';

/** Releases one resource (a server, a BullMQ worker, a connection). */
export type Closer = () => Promise<void> | void;

/**
 * Exit codes of a shutdown. Anything but `clean` tells the orchestrator the process did not
 * finish its work: an interrupted BullMQ job is not lost, its lock expires and the
 * stalled-job check hands it to another worker (DESIGN.md §3).
 */
export const SHUTDOWN_EXIT_CODES = {
  clean: 0,
  /** A closer threw (the others still ran), or shutdown was started for a failure. */
  failed: 1,
  /** The grace period ran out before every closer finished. */
  graceExpired: 2,
  /** A second SIGTERM/SIGINT arrived during shutdown (an impatient operator's Ctrl-C twice). */
  forced: 130,
} as const;

export interface GracefulShutdownOptions {
  logger: Logger;
  /** How long the closers together may take before the process exits anyway. */
  graceMs: number;
  signals?: readonly NodeJS.Signals[];
  /** Injected for tests that must not end the test runner; defaults to process.exit. */
  exit?: (code: number) => void;
}

export interface GracefulShutdown {
  /** Aborted as soon as shutdown starts: the cue to stop taking new work. */
  readonly stopping: AbortSignal;
  /** Closers run in reverse order of registration: register connections first, their users after. */
  register(name: string, close: Closer): void;
  /**
   * Starts the shutdown as a signal would; for a fatal error pass a non-zero `exitCode`, used
   * when every closer succeeds. Resolves with the code passed to exit.
   */
  shutdown(reason: string, exitCode?: number): Promise<number>;
}

/**
 * On the first SIGTERM or SIGINT: abort `stopping`, run the registered closers one at a time in
 * reverse order, then exit 0. A closer that throws is logged and the rest still run (exit 1).
 * If the closers take longer than `graceMs` the process exits 2; a second signal exits 130 at once.
 */
export function installGracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const { logger, graceMs } = options;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const closers: { name: string; close: Closer }[] = [];
  const stoppingController = new AbortController();
  let running: Promise<number> | undefined;
  let finished = false;

  const finish = (code: number): number => {
    if (finished) return code;
    finished = true;
    for (const signal of signals) process.off(signal, onSignal);
    exit(code);
    return code;
  };

  const closeAll = async (): Promise<number> => {
    let code: number = SHUTDOWN_EXIT_CODES.clean;
    for (const { name, close } of [...closers].reverse()) {
      logger.info({ closer: name }, 'closing');
      try {
        await close();
      } catch (error) {
        logger.error({ closer: name, err: error }, 'closer failed');
        code = SHUTDOWN_EXIT_CODES.failed;
      }
    }
    return code;
  };

  const shutdown = (reason: string, exitCode: number = SHUTDOWN_EXIT_CODES.clean): Promise<number> => {
    if (running) return running;
    logger.info({ reason, graceMs }, 'shutting down');
    stoppingController.abort(new Error(`shutting down: ${reason}`));
    running = new Promise<number>((resolve) => {
      const graceTimer = setTimeout(() => {
        logger.error({ graceMs }, 'grace period expired before every closer finished; exiting');
        resolve(finish(SHUTDOWN_EXIT_CODES.graceExpired));
      }, graceMs);
      void closeAll().then((code) => {
        clearTimeout(graceTimer);
        if (code === SHUTDOWN_EXIT_CODES.clean) logger.info('shutdown complete');
        resolve(finish(code === SHUTDOWN_EXIT_CODES.clean ? exitCode : code));
      });
    });
    return running;
  };

  function onSignal(signal: NodeJS.Signals): void {
    if (running) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      finish(SHUTDOWN_EXIT_CODES.forced);
      return;
    }
    void shutdown(signal);
  }

  for (const signal of signals) process.on(signal, onSignal);

  return {
    stopping: stoppingController.signal,
    register(name, close) {
      closers.push({ name, close });
    },
    shutdown,
  };
}
