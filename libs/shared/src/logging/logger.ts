import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel, NodeEnv } from '../config/app-config';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** The process kind, e.g. `api` or `worker-decode`; bound to every line as `service`. */
  service: string;
  level: LogLevel;
  nodeEnv: NodeEnv;
  /** Extra bindings on every line. */
  bindings?: Record<string, unknown>;
  /** Where lines go; stdout when omitted. Tests pass a memory stream. */
  destination?: DestinationStream;
}

/**
 * JSON lines in production and test (for log shippers and assertions), pino-pretty in
 * development. Pretty printing runs synchronously in-process rather than as a pino transport,
 * so the last lines before a `process.exit` are not lost in a worker thread.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.nodeEnv === 'development' ? pretty({ sync: true, colorize: process.stdout.isTTY }) : pino.destination({ sync: true }));
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
