/** One environment variable that is missing or does not parse. */
export interface ConfigIssue {
  variable: string;
  expected: string;
  /** The value as set (secrets hidden, URL passwords masked), or undefined when not set. */
  received: string | undefined;
}

export function describeConfigIssue(issue: ConfigIssue): string {
  const got = issue.received === undefined ? 'it is not set' : `got ${JSON.stringify(issue.received)}`;
  return `${issue.variable}: expected ${issue.expected}, ${got}`;
}

/** Thrown by the config loaders; lists every bad variable at once, not only the first. */
export class ConfigError extends Error {
  readonly code = 'InvalidConfiguration';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  ${describeConfigIssue(issue)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
