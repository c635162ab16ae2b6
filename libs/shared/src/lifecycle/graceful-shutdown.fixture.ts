/**
 * A tiny process for graceful-shutdown.spec.ts: installs the shutdown with three closers and
 * prints what happens on stdout. SHUTDOWN_FIXTURE picks the behaviour of the middle closer.
 */
import { pino } from 'pino';
import { installGracefulShutdown } from './graceful-shutdown';

const behaviour = process.env.SHUTDOWN_FIXTURE ?? 'clean';
const logger = pino({ level: 'info' }, pino.destination(2));
const shutdown = installGracefulShutdown({ logger, graceMs: Number(process.env.GRACE_MS ?? 2000) });

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
shutdown.stopping.addEventListener('abort', () => say('stopping'));
shutdown.register('connections', async () => say('closed connections'));
shutdown.register('worker', async () => {
  if (behaviour === 'hang') await new Promise(() => setInterval(() => undefined, 1000));
  if (behaviour === 'fail') throw new Error('worker refused to close');
  await new Promise((resolve) => setTimeout(resolve, 50));
  say('closed worker');
});
shutdown.register('health server', () => say('closed health server'));

// Keeps the event loop alive the way a server would.
setInterval(() => undefined, 60_000);
say('ready');
