import { Controller, Get, Inject, Res } from '@nestjs/common';
import { checkReadiness, type DependencyCheck, type ReadinessReport } from '@magicvideo/shared';
import type { FastifyReply } from 'fastify';

/** Injection token of the readiness checks (name → check); the app module provides them. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@Controller()
export class HealthController {
  // Explicit @Inject: tsx/esbuild emit no decorator metadata, so Nest cannot infer the token.
  constructor(@Inject(READINESS_CHECKS) private readonly checks: Record<string, DependencyCheck>) {}

  /** Liveness: the process runs and its event loop answers. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 200 when Redis and S3 answer, else 503 naming each failing dependency. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await checkReadiness(this.checks);
    reply.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
