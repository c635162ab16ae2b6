import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { type ApiKeyRegistry, apiKeyFromHeaders, Unauthenticated } from '@magicvideo/shared';
import type { FastifyRequest } from 'fastify';
import { API_KEY_REGISTRY } from '../tokens';
import { setOwner } from './owner';

/**
 * Every /v1 route: the caller presents an API key (`Authorization: Bearer` or `X-API-Key`); its
 * id becomes the owner of what the request creates and the only owner whose videos it sees.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEY_REGISTRY) private readonly registry: ApiKeyRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = this.registry.authenticate(apiKeyFromHeaders(request.headers));
    if (key === undefined) throw new Unauthenticated();
    setOwner(request, key.id);
    return true;
  }
}
