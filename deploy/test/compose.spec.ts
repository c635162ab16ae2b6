import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidQueuePrefix, STAGE_NAMES } from '@magicvideo/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { type ComposeService, durationSeconds, findComposeCommand, resolvedComposeServices } from './support/compose-config';
import { REPO_ROOT } from './support/repo-root';

/**
 * Issue 8: docker-compose.yml as Compose resolves it (`config`, no engine needed), for both
 * worker profiles: every service has a healthcheck, dependencies wait on health, workers can be
 * scaled (no fixed container name, no host port), and only the gpu profile reserves GPUs.
 */

const PROFILES = {
  cpu: { workerName: (stage: string) => `worker-${stage}`, target: 'cpu', provider: 'cpu' },
  gpu: { workerName: (stage: string) => `worker-${stage}-gpu`, target: 'gpu', provider: 'cuda' },
} as const;

const prometheusConfigSchema = z.object({
  scrape_configs: z.array(
    z.object({
      job_name: z.string(),
      static_configs: z.array(z.object({ targets: z.array(z.string()) })).optional(),
      // DNS discovery reaches every replica of a scaled service
      dns_sd_configs: z.array(z.object({ names: z.array(z.string()), port: z.number().optional() })).optional(),
    }),
  ),
});

function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, String(value ?? '')]));
}

describe.each(Object.entries(PROFILES))('docker compose, profile %s', (profile, expected) => {
  let services: Record<string, ComposeService>;
  let workers: [string, ComposeService][];

  beforeAll(async () => {
    services = await resolvedComposeServices(await findComposeCommand(), profile);
    workers = Object.entries(services).filter(([name]) => name.startsWith('worker-'));
  });

  it('runs Redis, MinIO, the API, one worker per stage, Prometheus and Grafana', () => {
    const stageWorkers = STAGE_NAMES.map(expected.workerName);
    expect(Object.keys(services).sort()).toEqual(['api', 'grafana', 'minio', 'prometheus', 'redis', ...stageWorkers].sort());
  });

  it('gives every service a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(service.healthcheck?.test?.length ?? 0, `${name} has no healthcheck`).toBeGreaterThan(0);
    }
  });

  it('starts a service only once what it depends on is healthy', () => {
    const withDependencies = Object.entries(services).filter(([, service]) => service.depends_on !== undefined);
    expect(withDependencies.map(([name]) => name).sort()).toEqual(['api', 'grafana', 'prometheus', ...workers.map(([name]) => name)].sort());
    for (const [name, service] of withDependencies) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency], `${name} depends on ${dependency}, which this profile does not run`).toBeDefined();
        expect(condition, `${name} → ${dependency}`).toBe('service_healthy');
      }
    }
  });

  it('lets workers scale: no container name, no host port', () => {
    for (const [name, service] of workers) {
      expect(service.container_name, name).toBeUndefined();
      expect(service.ports ?? [], name).toEqual([]);
    }
    for (const service of Object.values(services)) expect(service.container_name).toBeUndefined();
  });

  it(`builds the workers from the ${expected.target} target and runs their models on ${expected.provider}`, () => {
    for (const stage of STAGE_NAMES) {
      const service = services[expected.workerName(stage)];
      expect(service?.build?.target).toBe(expected.target);
      expect(service?.command).toEqual(['node', `dist/apps/worker-${stage}/main.js`]);
      expect(environmentOf(service as ComposeService)['ORT_EXECUTION_PROVIDER']).toBe(expected.provider);
    }
  });

  it(profile === 'gpu' ? 'reserves one NVIDIA GPU for each worker' : 'reserves no GPU', () => {
    for (const [name, service] of Object.entries(services)) {
      const devices = service.deploy?.resources?.reservations?.devices ?? [];
      if (profile === 'gpu' && name.startsWith('worker-')) {
        expect(devices, name).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu']) })]);
      } else {
        expect(devices, name).toEqual([]);
      }
    }
  });

  it('stops a worker only after its shutdown grace, and points every process at the same Redis prefix and bucket', () => {
    for (const [name, service] of [...workers, ['api', services['api']] as [string, ComposeService]]) {
      const env = environmentOf(service);
      expect(isValidQueuePrefix(env['QUEUE_PREFIX'] ?? ''), `${name} QUEUE_PREFIX`).toBe(true);
      expect(env['REDIS_URL'], name).toBe('redis://redis:6379');
      expect(env['S3_ENDPOINT'], name).toBe('http://minio:9000');
      expect(env['S3_BUCKET'], name).toBe(environmentOf(services['api'] as ComposeService)['S3_BUCKET']);
      const graceSeconds = durationSeconds(service.stop_grace_period ?? '10s');
      expect(graceSeconds * 1000, `${name}: stop_grace_period vs SHUTDOWN_GRACE_MS`).toBeGreaterThan(Number(env['SHUTDOWN_GRACE_MS']));
    }
  });

  it('keeps Redis durable and never evicting queue keys', () => {
    const command = services['redis']?.command?.join(' ') ?? '';
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync everysec');
    expect(command).toContain('--maxmemory-policy noeviction');
  });

  it("lets Prometheus reach every target of deploy/prometheus/prometheus.yml by a service name or alias", async () => {
    const config = prometheusConfigSchema.parse(parse(await readFile(join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')));
    const names = new Set(
      Object.entries(services).flatMap(([name, service]) => [name, ...Object.values(service.networks ?? {}).flatMap((network) => network?.aliases ?? [])]),
    );
    const hosts = config.scrape_configs.flatMap((job) => [
      ...(job.static_configs ?? []).flatMap((group) => group.targets.map((target) => target.split(':')[0] as string)),
      ...(job.dns_sd_configs ?? []).flatMap((discovery) => discovery.names),
    ]);
    expect(hosts.length).toBe(1 + STAGE_NAMES.length);
    for (const host of hosts) expect(names.has(host), host).toBe(true);
  });
});
