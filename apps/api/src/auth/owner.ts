import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

// Kept beside the request rather than on it, so no untyped property is added to Fastify's request.
const owners = new WeakMap<FastifyRequest, string>();

export function setOwner(request: FastifyRequest, owner: string): void {
  owners.set(request, owner);
}

/** The API key id ApiKeyGuard authenticated: the owner of the request. */
export const Owner = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const owner = owners.get(context.switchToHttp().getRequest<FastifyRequest>());
  // a route with @Owner() but without ApiKeyGuard is a programming error, not a client's
  if (owner === undefined) throw new Error('@Owner() used on a route without ApiKeyGuard');
  return owner;
});
