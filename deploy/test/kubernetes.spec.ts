import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidQueuePrefix, readApiConfig, readWorkerConfig, STAGE_NAMES } from '@magicvideo/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Container,
  type Deployment,
  deploymentSchema,
  KUSTOMIZATIONS,
  ofKind,
  renderKustomization,
  type Resource,
  scaledObjectQueries,
  scaledObjectSchema,
} from './support/rendered-manifests';
import { REPO_ROOT } from './support/repo-root';

/**
 * Issue 8: the Kubernetes manifests as `kubectl kustomize` renders them, the GPU set and the CPU
 * overlay: every workload has probes on /readyz and /healthz, resources (a GPU for each stage
 * in the GPU set), a termination grace longer than its shutdown grace and than a stage's job,
 * a PodDisruptionBudget; one KEDA ScaledObject per stage on Prometheus (SR may scale to zero);
 * every ConfigMap, Secret and volume a pod names exists, and the environment a container gets
 * passes the apps' own configuration readers.
 */

const NAMESPACE = 'magicvideo';
const pdbSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({ selector: z.object({ matchLabels: z.record(z.string(), z.string()) }), minAvailable: z.number().optional(), maxUnavailable: z.number().optional() }),
});
const configMapSchema = z.object({ metadata: z.object({ name: z.string() }), data: z.record(z.string(), z.string()) });
const secretSchema = z.object({ metadata: z.object({ name: z.string() }), stringData: z.record(z.string(), z.string()).optional(), data: z.record(z.string(), z.string()).optional() });
const sizingSchema = z.object({ stages: z.record(z.string(), z.object({ seconds: z.record(z.string(), z.number()) })) });

function secretValues(secret: z.infer<typeof secretSchema>): Record<string, string> {
  const decoded = Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]);
  return { ...Object.fromEntries(decoded), ...secret.stringData };
}

describe.each(Object.entries(KUSTOMIZATIONS))('kubernetes manifests: %s (%s)', (variant, dir) => {
  const gpu = variant === 'gpu';
  let resources: Resource[];
  let deployments: Deployment[];
  let configMaps: Map<string, Record<string, string>>;
  let secrets: Map<string, Record<string, string>>;
  let scratch: string;

  beforeAll(async () => {
    resources = await renderKustomization(dir);
    deployments = ofKind(resources, 'Deployment', deploymentSchema);
    configMaps = new Map(ofKind(resources, 'ConfigMap', configMapSchema).map((map) => [map.metadata.name, map.data]));
    secrets = new Map(ofKind(resources, 'Secret', secretSchema).map((secret) => [secret.metadata.name, secretValues(secret)]));
    scratch = await mkdtemp(join(tmpdir(), 'mv-k8s-'));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const workers = () => deployments.filter((deployment) => deployment.metadata.name.startsWith('worker-'));
  const containersOf = (deployment: Deployment) => deployment.spec.template.spec.containers;
  const envValue = (container: Container, name: string) => container.env?.find((variable) => variable.name === name)?.value;

  /** What a container's process sees: its ConfigMaps' and Secrets' keys, then its own env (which wins). */
  function environmentOf(container: Container): Record<string, string> {
    const environment: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) Object.assign(environment, configMaps.get(source.configMapRef.name));
      if (source.secretRef) Object.assign(environment, secrets.get(source.secretRef.name));
    }
    for (const variable of container.env ?? []) if (variable.value !== undefined) environment[variable.name] = variable.value;
    return environment;
  }

  it('renders the API and one Deployment per stage, all in the magicvideo namespace', () => {
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(['api', ...STAGE_NAMES.map((stage) => `worker-${stage}`)].sort());
    for (const resource of resources.filter((candidate) => candidate.kind !== 'Namespace')) {
      expect(resource.metadata.namespace, `${resource.kind}/${resource.metadata.name}`).toBe(NAMESPACE);
    }
  });

  it('probes readiness on /readyz and liveness on /healthz, on a port the container declares', () => {
    for (const deployment of deployments) {
      for (const container of containersOf(deployment)) {
        const where = `${deployment.metadata.name}/${container.name}`;
        const ports = new Set<string | number>((container.ports ?? []).flatMap((port) => [port.containerPort, ...(port.name ? [port.name] : [])]));
        expect(container.readinessProbe?.httpGet.path, where).toBe('/readyz');
        expect(container.livenessProbe?.httpGet.path, where).toBe('/healthz');
        for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
          if (probe !== undefined) expect(ports.has(probe.httpGet.port), `${where}: probe port ${probe.httpGet.port}`).toBe(true);
        }
      }
    }
  });

  it(gpu ? 'requests CPU and memory everywhere and gives each stage worker a GPU' : 'requests CPU and memory everywhere and no GPU', () => {
    for (const deployment of deployments) {
      const isWorker = deployment.metadata.name.startsWith('worker-');
      for (const container of containersOf(deployment)) {
        const where = `${deployment.metadata.name}/${container.name}`;
        expect(container.resources?.requests, where).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
        expect(container.resources?.limits?.['memory'], where).toBeDefined();
        const gpus = Number(container.resources?.limits?.['nvidia.com/gpu'] ?? 0);
        if (gpu && isWorker) expect(gpus, where).toBeGreaterThanOrEqual(1);
        else expect(gpus, where).toBe(0);
        const tolerations = (deployment.spec.template.spec.tolerations ?? []).map((toleration) => toleration.key);
        expect(tolerations.includes('nvidia.com/gpu'), where).toBe(gpu && isWorker);
        expect(container.image, where).toBe(`magicvideo:${gpu && isWorker ? 'gpu' : 'cpu'}`);
        if (isWorker) expect(envValue(container, 'ORT_EXECUTION_PROVIDER'), where).toBe(gpu ? 'cuda' : 'cpu');
      }
    }
  });

  it('gives each pod a termination grace longer than its shutdown grace, and each stage worker time for a whole job', async () => {
    const sizing = sizingSchema.parse(JSON.parse(await readFile(join(REPO_ROOT, 'deploy/sizing/base-sizing.json'), 'utf8')));
    for (const deployment of deployments) {
      const graceSeconds = deployment.spec.template.spec.terminationGracePeriodSeconds;
      expect(graceSeconds, deployment.metadata.name).toBeDefined();
      for (const container of containersOf(deployment)) {
        const shutdownMs = Number(envValue(container, 'SHUTDOWN_GRACE_MS'));
        expect(shutdownMs, `${deployment.metadata.name}: SHUTDOWN_GRACE_MS`).toBeGreaterThan(0);
        // the app gives up on its job and exits before the kubelet's SIGKILL, with time to close connections
        expect((graceSeconds as number) * 1000 - shutdownMs, deployment.metadata.name).toBeGreaterThanOrEqual(10_000);
        const stage = deployment.metadata.name.replace(/^worker-/, '');
        const jobSeconds = sizing.stages[stage]?.seconds;
        if (deployment.metadata.name.startsWith('worker-')) {
          // a job of the base models on the slowest GPU of the sizing table ends inside the shutdown grace
          expect(jobSeconds, `deploy/sizing/base-sizing.json has no ${stage}`).toBeDefined();
          expect(shutdownMs / 1000, `${stage}: SHUTDOWN_GRACE_MS vs one job`).toBeGreaterThan(Math.max(...Object.values(jobSeconds ?? {})));
        }
      }
    }
  });

  it('covers every Deployment with a PodDisruptionBudget that selects its pods', () => {
    const budgets = ofKind(resources, 'PodDisruptionBudget', pdbSchema);
    for (const deployment of deployments) {
      const podLabels = deployment.spec.template.metadata.labels;
      const covering = budgets.filter((budget) => Object.entries(budget.spec.selector.matchLabels).every(([key, value]) => podLabels[key] === value));
      expect(covering.length, deployment.metadata.name).toBe(1);
      const budget = covering[0]?.spec;
      expect((budget?.minAvailable ?? 0) > 0 || (budget?.maxUnavailable ?? 0) > 0, deployment.metadata.name).toBe(true);
    }
  });

  it("scales each stage with KEDA's Prometheus scaler on its queue, SR down to zero", () => {
    const scaledObjects = ofKind(resources, 'ScaledObject', scaledObjectSchema);
    expect(scaledObjects.map((scaled) => scaled.spec.scaleTargetRef.name).sort()).toEqual(workers().map((deployment) => deployment.metadata.name).sort());
    for (const scaled of scaledObjects) {
      const stage = scaled.spec.scaleTargetRef.name.replace(/^worker-/, '');
      expect(scaled.spec.triggers.map((trigger) => trigger.type)).toEqual(['prometheus']);
      const metadata = scaled.spec.triggers[0]?.metadata ?? {};
      expect(metadata['serverAddress']).toMatch(/^https?:\/\//);
      expect(Number(metadata['threshold'])).toBeGreaterThan(0);
      expect(metadata['query']).toContain(`queue="${stage}"`);
      expect(scaled.spec.minReplicaCount ?? 1, stage).toBe(stage === 'sr' ? 0 : 1);
      expect(scaled.spec.maxReplicaCount).toBeGreaterThan(1);
    }
    expect(Object.keys(scaledObjectQueries(resources)).sort()).toEqual([...STAGE_NAMES].sort());
  });

  it('names only ConfigMaps, Secrets, claims and volumes that exist', () => {
    const claims = new Set(resources.filter((resource) => resource.kind === 'PersistentVolumeClaim').map((resource) => resource.metadata.name));
    for (const deployment of deployments) {
      const volumes = deployment.spec.template.spec.volumes ?? [];
      for (const volume of volumes) {
        if (volume.secret) expect(secrets.has(volume.secret.secretName), volume.secret.secretName).toBe(true);
        if (volume.configMap) expect(configMaps.has(volume.configMap.name), volume.configMap.name).toBe(true);
        if (volume.persistentVolumeClaim) expect(claims.has(volume.persistentVolumeClaim.claimName), volume.persistentVolumeClaim.claimName).toBe(true);
      }
      for (const container of containersOf(deployment)) {
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) expect(configMaps.has(source.configMapRef.name), source.configMapRef.name).toBe(true);
          if (source.secretRef) expect(secrets.has(source.secretRef.name), source.secretRef.name).toBe(true);
        }
        for (const mount of container.volumeMounts ?? []) {
          expect(volumes.some((volume) => volume.name === mount.name), `${deployment.metadata.name}: mount ${mount.mountPath}`).toBe(true);
        }
      }
    }
  });

  it("hands every container an environment the apps' own configuration readers accept, with a Redis Cluster-safe prefix", async () => {
    for (const deployment of workers()) {
      for (const container of containersOf(deployment)) {
        const config = readWorkerConfig(environmentOf(container));
        expect(isValidQueuePrefix(config.queuePrefix)).toBe(true);
        expect(config.modelsDir).toBe(gpu ? '/models/magicvideo-base' : '/app/models/magicvideo-shapes');
        expect(config.ortExecutionProvider).toBe(gpu ? 'cuda' : 'cpu');
      }
    }
    const api = deployments.find((deployment) => deployment.metadata.name === 'api') as Deployment;
    for (const container of containersOf(api)) {
      const environment = environmentOf(container);
      // The keys file comes from a Secret volume; here its content is written where the reader can open it.
      const keysVolume = api.spec.template.spec.volumes?.find((volume) => volume.secret !== undefined);
      const mount = container.volumeMounts?.find((candidate) => candidate.name === keysVolume?.name);
      const fileName = (environment['API_KEYS_FILE'] ?? '').slice((mount?.mountPath ?? '').length + 1);
      const keysFile = join(scratch, 'api-keys.json');
      await writeFile(keysFile, secrets.get(keysVolume?.secret?.secretName ?? '')?.[fileName] ?? '');
      const config = readApiConfig({ ...environment, API_KEYS_FILE: keysFile });
      expect(config.apiKeys.length).toBeGreaterThan(0);
      expect(config.queuePrefix).toBe(readWorkerConfig(environmentOf(containersOf(workers()[0] as Deployment)[0] as Container)).queuePrefix);
    }
  });
});
