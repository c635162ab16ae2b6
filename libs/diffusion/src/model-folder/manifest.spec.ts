import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { manifestSchema, SAMPLER_NAMES } from './manifest';
import { contractJsonForTests, tinyManifest } from './model-folder.fixture';
import { parseModelFolderContract } from './validate-model-folder';

type JsonSchema = Record<string, unknown>;

// Keywords whose values must agree exactly between the contract's JSON Schema and zod's.
const COMPARED_KEYWORDS = [
  'enum',
  'const',
  'minimum',
  'exclusiveMinimum',
  'minLength',
  'minItems',
  'maxItems',
  'pattern',
] as const;

function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = schema['$ref'];
  if (typeof ref !== 'string') return schema;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as JsonSchema)[key], root);
  return target as JsonSchema;
}

function normalised(keyword: string, value: unknown): unknown {
  if (keyword === 'pattern' && typeof value === 'string') return value.replaceAll('\\/', '/');
  if (keyword === 'required' && Array.isArray(value)) return [...value].sort();
  return value;
}

/** Every place where the contract's schema and zod's differ, as `path: what` lines. */
function differences(contract: JsonSchema, zod: JsonSchema, root: JsonSchema, path = '#'): string[] {
  const expected = resolveRef(contract, root);
  const found: string[] = [];
  for (const keyword of [...COMPARED_KEYWORDS, 'required']) {
    const want = normalised(keyword, expected[keyword]);
    const got = normalised(keyword, zod[keyword]);
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      found.push(`${path} ${keyword}: contract ${JSON.stringify(want)}, zod ${JSON.stringify(got)}`);
    }
  }
  if (expected['type'] !== undefined && expected['type'] !== zod['type']) {
    found.push(`${path} type: contract ${String(expected['type'])}, zod ${String(zod['type'])}`);
  }
  if (
    expected['maximum'] === undefined &&
    zod['maximum'] !== undefined &&
    zod['maximum'] !== Number.MAX_SAFE_INTEGER
  ) {
    found.push(`${path} maximum: contract none, zod ${String(zod['maximum'])}`);
  }
  const contractProperties = (expected['properties'] ?? {}) as Record<string, JsonSchema>;
  const zodProperties = (zod['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = (expected['required'] ?? []) as string[];
  const expectedNames = [...new Set([...Object.keys(contractProperties), ...required])].sort();
  const zodNames = Object.keys(zodProperties).sort();
  if (JSON.stringify(expectedNames) !== JSON.stringify(zodNames)) {
    found.push(`${path} properties: contract ${expectedNames.join(',')}, zod ${zodNames.join(',')}`);
  }
  for (const [name, child] of Object.entries(contractProperties)) {
    const zodChild = zodProperties[name];
    if (zodChild !== undefined) found.push(...differences(child, zodChild, root, `${path}/${name}`));
  }
  for (const keyword of ['items', 'additionalProperties'] as const) {
    const child = expected[keyword];
    if (typeof child === 'object' && child !== null) {
      const zodChild = zod[keyword];
      if (typeof zodChild !== 'object' || zodChild === null) found.push(`${path} ${keyword}: missing in zod`);
      else
        found.push(...differences(child as JsonSchema, zodChild as JsonSchema, root, `${path}/${keyword}`));
    }
  }
  return found;
}

describe('manifestSchema', () => {
  const contractSchema = parseModelFolderContract(contractJsonForTests).manifestSchema;
  const zodSchema = z.toJSONSchema(manifestSchema, { io: 'input' }) as JsonSchema;

  it('agrees with the contract JSON Schema on keys, required keys, enums, consts and bounds', () => {
    expect(differences(contractSchema, zodSchema, contractSchema)).toEqual([]);
  });

  it('would notice a drift: a required key dropped from the contract', () => {
    const drifted = structuredClone(contractSchema);
    (drifted['required'] as string[]).pop();
    expect(differences(drifted, zodSchema, drifted)).not.toEqual([]);
  });

  it('would notice a drift: an enum value added to the contract', () => {
    const drifted = structuredClone(contractSchema) as { $defs: { scheduler: { properties: JsonSchema } } };
    const betaSchedule = drifted.$defs.scheduler.properties['beta_schedule'] as { enum: string[] };
    betaSchedule.enum.push('squaredcos_cap_v2');
    expect(differences(drifted as JsonSchema, zodSchema, drifted as JsonSchema)).toEqual([
      expect.stringContaining('#/schedulers/unet/beta_schedule enum'),
      expect.stringContaining('#/schedulers/interp_unet/beta_schedule enum'),
      expect.stringContaining('#/schedulers/sr_unet/beta_schedule enum'),
    ]);
  });

  it('lists the samplers of the contract', () => {
    const defaults = (contractSchema['properties'] as Record<string, JsonSchema>)['defaults'];
    const sampler = (defaults?.['properties'] as Record<string, JsonSchema>)['sampler'];
    expect(sampler?.['enum']).toEqual([...SAMPLER_NAMES]);
  });

  it('accepts a valid manifest and keeps keys it does not know', () => {
    const manifest = { ...tinyManifest(), training: { steps: 1000 }, extra_note: 'kept' };
    const parsed = manifestSchema.parse(manifest);
    expect(parsed.training).toEqual({ steps: 1000 });
    expect((parsed as Record<string, unknown>)['extra_note']).toBe('kept');
  });

  it('rejects a model path outside <name>/model.onnx', () => {
    const manifest = tinyManifest();
    const result = manifestSchema.safeParse({
      ...manifest,
      models: { ...manifest.models, unet: 'unet.onnx' },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['models', 'unet']);
  });
});
