import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The OpenAPI document (built from the API's zod schemas) at /docs/openapi.json, and Swagger UI
 * over it at /docs. Static mode: the document is ours, not inferred from routes.
 */
export async function registerDocs(app: NestFastifyApplication, document: Record<string, unknown>): Promise<void> {
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.getHttpAdapter().getInstance().get('/docs/openapi.json', async () => document);
}
