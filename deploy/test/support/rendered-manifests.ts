import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from './repo-root';
import { outputOf } from './run-command';

/** The kustomizations this repository ships: the GPU production set and the CPU overlay. */
export const KUSTOMIZATIONS = { gpu: 'deploy/k8s', cpu: 'deploy/k8s/overlays/cpu' } as const;

const httpGetProbe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) }).passthrough();
const quantities = z.record(z.string(), z.union([z.string(), z.number()]));
export const containerSchema = z
  .object({
    name: z.string(),
    image: z.string(),
    command: z.array(z.string()).optional(),
    ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number() })).optional(),
    env: z.array(z.object({ name: z.string(), value: z.string().optional() }).passthrough()).optional(),
    envFrom: z.array(z.object({ configMapRef: z.object({ name: z.string() }).optional(), secretRef: z.object({ name: z.string() }).optional() })).optional(),
    readinessProbe: httpGetProbe.optional(),
    livenessProbe: httpGetProbe.optional(),
    startupProbe: httpGetProbe.optional(),
    resources: z.object({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
    volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })).optional(),
  })
  .passthrough();
export type Container = z.infer<typeof containerSchema>;

export const deploymentSchema = z.object({
  kind: z.literal('Deployment'),
  metadata: z.object({ name: z.string(), namespace: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }),
  spec: z.object({
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.object({
      metadata: z.object({ labels: z.record(z.string(), z.string()), annotations: z.record(z.string(), z.string()).optional() }),
      spec: z
        .object({
          terminationGracePeriodSeconds: z.number().optional(),
          containers: z.array(containerSchema),
          tolerations: z.array(z.object({ key: z.string().optional() }).passthrough()).optional(),
          volumes: z
            .array(
              z
                .object({
                  name: z.string(),
                  secret: z.object({ secretName: z.string() }).optional(),
                  configMap: z.object({ name: z.string() }).optional(),
                  persistentVolumeClaim: z.object({ claimName: z.string() }).optional(),
                })
                .passthrough(),
            )
            .optional(),
        })
        .passthrough(),
    }),
  }),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export const scaledObjectSchema = z.object({
  kind: z.literal('ScaledObject'),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    scaleTargetRef: z.object({ name: z.string(), kind: z.string().optional() }),
    minReplicaCount: z.number().optional(),
    maxReplicaCount: z.number(),
    triggers: z.array(z.object({ type: z.string(), metadata: z.record(z.string(), z.string()) })),
  }),
});
export type ScaledObject = z.infer<typeof scaledObjectSchema>;

const resourceSchema = z.object({ apiVersion: z.string(), kind: z.string(), metadata: z.object({ name: z.string(), namespace: z.string().optional() }) }).passthrough();
export type Resource = z.infer<typeof resourceSchema>;

/** `kubectl kustomize DIR`, parsed: every rendered resource (kubectl must be on PATH). */
export async function renderKustomization(dir: string): Promise<Resource[]> {
  const text = await outputOf(['kubectl', 'kustomize', dir], { cwd: REPO_ROOT }).catch((error: unknown) => {
    throw new Error(`kubectl kustomize ${dir} failed (kubectl on PATH? it renders without a cluster): ${(error as Error).message}`);
  });
  return parseAllDocuments(text).map((document) => resourceSchema.parse(document.toJSON()));
}

export function ofKind<T>(resources: Resource[], kind: string, schema: z.ZodType<T>): T[] {
  return resources.filter((resource) => resource.kind === kind).map((resource) => schema.parse(resource));
}

/**
 * The query of each stage's KEDA Prometheus trigger, exactly as rendered, by stage (the
 * ScaledObject's target is `worker-<stage>`).
 */
export function scaledObjectQueries(resources: Resource[]): Record<string, string> {
  return Object.fromEntries(
    ofKind(resources, 'ScaledObject', scaledObjectSchema).map((scaled) => {
      const trigger = scaled.spec.triggers.find((candidate) => candidate.type === 'prometheus');
      if (trigger?.metadata['query'] === undefined) throw new Error(`${scaled.metadata.name}: no prometheus trigger with a query`);
      return [scaled.spec.scaleTargetRef.name.replace(/^worker-/, ''), trigger.metadata['query']];
    }),
  );
}
