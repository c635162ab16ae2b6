import { readdir, readFile } from 'node:fs/promises';

/**
 * An app started from source runs as `tsx` plus the node process tsx spawns. tsx relays SIGTERM
 * to it, but SIGKILL cannot be relayed: killing only the tsx pid leaves the app running as an
 * orphan. These kill the whole tree, children first (Linux /proc).
 */

async function childPids(pid: number): Promise<number[]> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const children = await Promise.all(
    tasks.map(async (task) => {
      const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      return text.split(' ').filter(Boolean).map(Number);
    }),
  );
  return children.flat();
}

/** Every process below `pid`, deepest first. */
export async function descendantPids(pid: number): Promise<number[]> {
  const below: number[] = [];
  for (const child of await childPids(pid)) below.push(...(await descendantPids(child)), child);
  return below;
}

/** Sends `signal` to every descendant of `pid`, then to `pid`; processes already gone are skipped. */
export async function signalProcessTree(pid: number, signal: NodeJS.Signals): Promise<void> {
  for (const target of [...(await descendantPids(pid)), pid]) {
    try {
      process.kill(target, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}
