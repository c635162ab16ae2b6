import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createVideoRequestSchema } from './http-schemas';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/webhook-events';
import { buildOpenApiDocument } from './openapi-document';

/**
 * The OpenAPI 3.1 document's shape (the specification's required fields and the parts we rely
 * on), checked with zod since no OpenAPI validator is a dependency; plus the laws a generated
 * document can break: every $ref resolves, every route and its errors are there.
 */

const httpStatus = z.string().regex(/^([1-5]\d\d|default)$/);
const responseObject = z.looseObject({ description: z.string().min(1), content: z.record(z.string(), z.looseObject({})).optional() });
const parameterObject = z.looseObject({
  name: z.string().min(1),
  in: z.enum(['query', 'header', 'path', 'cookie']),
  required: z.boolean().optional(),
  schema: z.looseObject({}),
});
const operationObject = z.looseObject({
  operationId: z.string().min(1),
  summary: z.string().min(1),
  parameters: z.array(parameterObject).optional(),
  requestBody: z.looseObject({ content: z.record(z.string(), z.looseObject({ schema: z.looseObject({}) })) }).optional(),
  responses: z.record(httpStatus, responseObject),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
});
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const pathItem = z.looseObject({
  parameters: z.array(parameterObject).optional(),
  ...Object.fromEntries(methods.map((method) => [method, operationObject.optional()])),
});
const openApi31 = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string().min(1), version: z.string().min(1) }),
  jsonSchemaDialect: z.string().optional(),
  paths: z.record(z.string().regex(/^\//), pathItem),
  components: z.looseObject({
    schemas: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), z.looseObject({})),
    securitySchemes: z.record(z.string(), z.looseObject({ type: z.enum(['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect']) })),
  }),
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
});

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner)));
}

type Operation = z.infer<typeof operationObject>;

describe('buildOpenApiDocument', () => {
  const document = buildOpenApiDocument({ version: '1.2.3', uploadLimitBytes: 1024 });
  const parsed = openApi31.parse(document);
  const operations = Object.entries(parsed.paths).flatMap(([path, item]) =>
    methods.flatMap((method) => {
      const operation = (item as Record<string, Operation | undefined>)[method];
      return operation === undefined ? [] : [{ route: `${method.toUpperCase()} ${path}`, operation, pathParameters: item.parameters ?? [] }];
    }),
  );

  it('is an OpenAPI 3.1 document naming every route of the API', () => {
    expect(parsed.info.version).toBe('1.2.3');
    expect(operations.map(({ route }) => route).sort()).toEqual([
      'DELETE /v1/videos/{id}',
      'GET /healthz',
      'GET /readyz',
      'GET /v1/videos',
      'GET /v1/videos/{id}',
      'GET /v1/videos/{id}/events',
      'GET /v1/videos/{id}/webhooks',
      'POST /v1/videos',
      'POST /v1/videos/{id}/retry',
      'POST /v1/videos/{id}/webhooks/{deliveryId}/retry',
    ]);
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('resolves every $ref to a component schema, and keeps no per-schema $schema or $id', () => {
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(parsed.components.schemas).toHaveProperty(ref.slice('#/components/schemas/'.length));
    }
    for (const schema of Object.values(parsed.components.schemas)) {
      expect(schema).not.toHaveProperty('$schema');
      expect(schema).not.toHaveProperty('$id');
    }
  });

  it('declares every path parameter of a templated path', () => {
    for (const { route, operation, pathParameters } of operations) {
      const declared = [...pathParameters, ...(operation.parameters ?? [])].filter((parameter) => parameter.in === 'path').map((p) => p.name);
      const templated = [...route.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(declared.sort(), route).toEqual(templated.sort());
    }
  });

  it('gives every /v1 route the error envelope for its errors and the API-key security, and leaves health open', () => {
    expect(parsed.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(Object.keys(parsed.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    for (const { route, operation } of operations) {
      if (!route.includes('/v1/')) {
        expect(operation.security, route).toEqual([]);
        continue;
      }
      expect(operation.security, route).toBeUndefined();
      const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
      expect(errors.map(([status]) => status), route).toEqual(expect.arrayContaining(['401', '500']));
      for (const [status, response] of errors) {
        expect(refsIn(response), `${route} ${status}`).toEqual(['#/components/schemas/Error']);
      }
    }
  });

  it('describes the request with exactly the fields the API accepts, and no others', () => {
    const request = parsed.components.schemas.CreateVideoRequest as { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] };
    expect(Object.keys(request.properties).sort()).toEqual(Object.keys(createVideoRequestSchema.shape).sort());
    expect(request.additionalProperties).toBe(false);
    expect(request.required).toEqual(['prompt']);
    const post = operations.find(({ route }) => route === 'POST /v1/videos')?.operation;
    expect(Object.keys(post?.requestBody?.content ?? {}).sort()).toEqual(['application/json', 'multipart/form-data']);
  });

  it('lists the query parameters of GET /v1/videos from the schema the API parses them with', () => {
    const list = operations.find(({ route }) => route === 'GET /v1/videos')?.operation;
    expect(list?.parameters?.map((parameter) => [parameter.name, parameter.in, parameter.schema.type ?? parameter.schema.enum])).toEqual([
      ['limit', 'query', 'integer'],
      ['cursor', 'query', 'string'],
      ['status', 'query', 'string'],
    ]);
  });

  it('describes every webhook event in the webhooks section, with its payload schema and the signature headers', () => {
    const webhooks = (document as { webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: { $ref: string } }> }; parameters: { name: string }[] } }> }).webhooks;
    expect(Object.keys(webhooks)).toEqual([...WEBHOOK_EVENT_TYPES]);
    const schemas = (document as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }).components.schemas;
    for (const type of WEBHOOK_EVENT_TYPES) {
      const operation = webhooks[type]?.post;
      expect(operation?.parameters.map((parameter) => parameter.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      const id = operation?.requestBody.content['application/json']?.schema.$ref.split('/').at(-1) ?? '';
      expect(Object.keys(schemas[id]?.properties ?? {})).toEqual(['type', 'timestamp', 'data']);
    }
  });

  it('documents the job API fields of issue 15 with examples: priority, queue place, deadline, runs, expiry, and the headers', () => {
    const schemas = parsed.components.schemas as Record<string, { properties?: Record<string, { examples?: unknown[] }> }>;
    expect(schemas.CreateVideoRequest?.properties?.priority?.examples).toEqual([5]);
    for (const field of ['queue', 'priority', 'deadline_at', 'expires_at', 'runs', 'reason', 'progress']) {
      expect(schemas.Video?.properties?.[field], field).toBeDefined();
    }
    expect(schemas.QueueStanding?.properties?.position?.examples).toEqual([3]);
    const create = operations.find(({ route }) => route === 'POST /v1/videos')?.operation as unknown as {
      parameters: { name: string; examples?: object }[];
      responses: Record<string, unknown>;
    };
    expect(create.parameters.map((parameter) => parameter.name)).toEqual(['Idempotency-Key', 'Cancel-After', 'Prefer']);
    expect(create.parameters.filter((parameter) => parameter.name !== 'Idempotency-Key').every((parameter) => parameter.examples !== undefined)).toBe(true);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '202']));
  });
});
