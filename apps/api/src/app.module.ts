import { type DynamicModule, Module } from '@nestjs/common';
import type { DependencyCheck } from '@magicvideo/shared';
import { HealthController, READINESS_CHECKS } from './health/health.controller';

/** The clients the API's modules need, built in main.ts from the validated config. */
export interface AppDependencies {
  readinessChecks: Record<string, DependencyCheck>;
}

@Module({})
export class AppModule {
  static register(dependencies: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [{ provide: READINESS_CHECKS, useValue: dependencies.readinessChecks }],
    };
  }
}
