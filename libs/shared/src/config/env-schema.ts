import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error';

/** One environment variable: its schema (over the raw string, or undefined when unset) and what a reader should set. */
export interface EnvVariable<Schema extends z.ZodType = z.ZodType> {
  schema: Schema;
  expected: string;
  /** Never echo the value in an error (secrets). */
  sensitive?: boolean;
}

export type EnvSpec = Record<string, EnvVariable>;
export type EnvValues<Spec extends EnvSpec> = { [Name in keyof Spec]: z.output<Spec[Name]['schema']> };
export type Environment = Readonly<Record<string, string | undefined>>;

export function envVariable<Schema extends z.ZodType>(
  expected: string,
  schema: Schema,
  options: { sensitive?: boolean } = {},
): EnvVariable<Schema> {
  return { expected, schema, ...options };
}

/** The value as an error may show it: a sensitive value hidden, a URL's password masked. */
function displayedValue(raw: string | undefined, sensitive: boolean | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (sensitive) return `<hidden, ${raw.length} characters>`;
  if (!URL.canParse(raw)) return raw;
  const { password } = new URL(raw);
  return password === '' ? raw : raw.replace(`:${password}@`, ':***@');
}

/**
 * Parses every variable of `spec` from `env` and throws one ConfigError naming all bad ones.
 * An empty string counts as unset, so `FOO= node main` falls back to the default like an unset FOO.
 */
export function parseEnvironment<Spec extends EnvSpec>(spec: Spec, env: Environment): EnvValues<Spec> {
  const issues: ConfigIssue[] = [];
  const values: Record<string, unknown> = {};
  for (const [variable, { schema, expected, sensitive }] of Object.entries(spec)) {
    const raw = env[variable];
    const result = schema.safeParse(raw === '' ? undefined : raw);
    if (result.success) values[variable] = result.data;
    else issues.push({ variable, expected, received: displayedValue(raw, sensitive) });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return values as EnvValues<Spec>;
}
