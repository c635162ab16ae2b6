import { access } from 'node:fs/promises';
import { request } from 'node:http';

export type DockerEngineStatus = { available: true; socketPath: string } | { available: false; reason: string };

/**
 * Whether a Docker engine answers `GET /_ping` on its unix socket (DOCKER_HOST=unix://… or
 * /var/run/docker.sock). Only unix sockets are probed; a tcp:// DOCKER_HOST is reported as
 * not probed rather than guessed at.
 */
export async function detectDockerEngine(env: NodeJS.ProcessEnv = process.env): Promise<DockerEngineStatus> {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost !== undefined && !dockerHost.startsWith('unix://')) {
    return { available: false, reason: `DOCKER_HOST=${dockerHost} is not a unix socket; not probed` };
  }
  const socketPath = dockerHost?.slice('unix://'.length) ?? '/var/run/docker.sock';
  try {
    await access(socketPath);
  } catch (error) {
    return { available: false, reason: `no Docker socket at ${socketPath} (${(error as NodeJS.ErrnoException).code})` };
  }
  const answer = await new Promise<string>((resolve) => {
    const ping = request({ socketPath, path: '/_ping', timeout: 1_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    ping.on('timeout', () => ping.destroy(new Error('timed out')));
    ping.on('error', (error) => resolve(`error: ${error.message}`));
    ping.end();
  });
  return answer === 'OK'
    ? { available: true, socketPath }
    : { available: false, reason: `Docker socket ${socketPath} did not answer /_ping (${answer})` };
}
