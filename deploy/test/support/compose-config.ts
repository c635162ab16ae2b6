import { parse } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from './repo-root';
import { outputOf, runCommand } from './run-command';

/**
 * The Compose CLI to validate docker-compose.yml with: COMPOSE_COMMAND (words split on spaces)
 * if set, else the `docker compose` plugin (v2), else a standalone `docker-compose` (v2, or
 * Debian's 1.29). None of them needs a Docker engine for `config`.
 */
export async function findComposeCommand(): Promise<string[]> {
  const configured = process.env['COMPOSE_COMMAND'];
  const candidates = configured ? [configured.split(' ').filter(Boolean)] : [['docker', 'compose'], ['docker-compose']];
  for (const candidate of candidates) {
    if ((await runCommand([...candidate, 'version'])).code === 0) return candidate;
  }
  throw new Error(
    `no Compose CLI found (tried ${candidates.map((c) => c.join(' ')).join(', ')}): install the Compose v2 plugin or Debian's ` +
      '`docker-compose` (apt-get install docker-compose; .ci/run does), or set COMPOSE_COMMAND',
  );
}

const durationSchema = z.union([z.string(), z.number()]);
const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), target: z.string().optional() }).optional(),
  command: z.array(z.string()).optional(),
  container_name: z.string().optional(),
  ports: z.array(z.unknown()).optional(),
  profiles: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  healthcheck: z
    .object({ test: z.union([z.array(z.string()), z.string()]).optional(), disable: z.boolean().optional(), start_period: durationSchema.optional() })
    .optional(),
  stop_grace_period: durationSchema.optional(),
  networks: z.record(z.string(), z.object({ aliases: z.array(z.string()).optional() }).nullable()).optional(),
  deploy: z
    .object({
      resources: z
        .object({
          reservations: z
            .object({ devices: z.array(z.object({ driver: z.string().optional(), count: z.union([z.number(), z.string()]).optional(), capabilities: z.array(z.string()) })).optional() })
            .optional(),
        })
        .optional(),
    })
    .optional(),
  volumes: z.array(z.unknown()).optional(),
});
export type ComposeService = z.infer<typeof serviceSchema>;
const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) });

/**
 * `config` of docker-compose.yml resolved for one profile, from a clean environment (a caller's
 * MODELS_DIR or API_PORT would change the answer), as services by name. Compose v2 leaves out
 * the services of other profiles; 1.29 lists them all, so they are filtered here by `profiles`.
 */
export async function resolvedComposeServices(compose: string[], profile: string): Promise<Record<string, ComposeService>> {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' };
  const text = await outputOf([...compose, '--file', 'docker-compose.yml', '--profile', profile, 'config'], { cwd: REPO_ROOT, env });
  const { services } = composeSchema.parse(parse(text));
  return Object.fromEntries(Object.entries(services).filter(([, service]) => service.profiles === undefined || service.profiles.includes(profile)));
}

/** Seconds of a Compose duration ("11m", "11m0s", "1h2m3s", "40s", or a number of seconds). */
export function durationSeconds(duration: string | number): number {
  if (typeof duration === 'number') return duration;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== duration) throw new Error(`not a duration: ${duration}`);
  return parts.reduce((total, part) => total + Number(part[1]) * (units[part[2] as string] as number), 0);
}
