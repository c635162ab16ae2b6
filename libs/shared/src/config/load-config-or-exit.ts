import { ConfigError } from './config-error';
import type { Environment } from './env-schema';

/**
 * For mains: read the configuration once at start; on a ConfigError print every bad variable
 * to stderr and exit with code 78 (EX_CONFIG from sysexits.h), before any logger exists.
 */
export function loadConfigOrExit<Config>(
  read: (env: Environment) => Config,
  env: Environment = process.env,
): Config {
  try {
    return read(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
}
