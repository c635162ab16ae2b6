export * from './app-config';
export * from './config-error';
export { envVariable, parseEnvironment, type EnvSpec, type EnvValues, type EnvVariable, type Environment } from './env-schema';
export * from './load-config-or-exit';
