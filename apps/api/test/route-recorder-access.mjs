// Preloaded into the API process by the access spec (NODE_OPTIONS=--import): records every route
// the running app's Fastify instance registers (Nest's controllers, plugins, the queue UI) and
// writes them as JSON to ROUTE_LIST_FILE once the app is ready, so the spec needs no route list.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const target = process.env.ROUTE_LIST_FILE;
if (target === undefined) throw new Error('route-recorder-access: ROUTE_LIST_FILE is not set');

subscribe('fastify.initialization', ({ fastify }) => {
  const routes = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  fastify.addHook('onReady', async () => {
    writeFileSync(target, JSON.stringify(routes));
  });
});
