// `npm run stack`: the distributed system on this machine without Docker (DESIGN.md §9): the API
// and the four stage workers as separate processes, against Redis (REDIS_URL, else localhost:6379,
// else a redis-server it starts) and S3 (S3_ENDPOINT, else an in-process s3rver). Every process's
// log lines are printed with its name in front. Ctrl-C stops everything and deletes the run's
// queue keys and bucket (the stack uses a queue prefix and bucket of its own).
import { DEFAULT_MODEL_FOLDER } from '../apps/cli/src/default-model-folder';
import { startDistributedStack } from '../libs/shared/src/testing/distributed-stack';

const COLOURS = ['36', '33', '35', '32', '34', '31'];
const names = new Map<string, string>();

function prefix(name: string): string {
  let coloured = names.get(name);
  if (coloured === undefined) {
    const colour = COLOURS[names.size % COLOURS.length];
    coloured = process.stdout.isTTY ? `\u001b[${colour}m${name.padEnd(10)}\u001b[0m` : name.padEnd(10);
    names.set(name, coloured);
  }
  return coloured;
}

async function main(): Promise<void> {
  const modelsDir = process.env.MODELS_DIR ?? DEFAULT_MODEL_FOLDER;
  const apiPort = Number(process.env.PORT ?? 3000);
  process.stdout.write(`stack: starting the API on :${apiPort} and four workers on ${modelsDir} …\n`);
  const stack = await startDistributedStack({
    modelsDir,
    apiPort,
    env: { NODE_ENV: 'development', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    onLine: (name, line) => process.stdout.write(`${prefix(name)} | ${line}\n`),
  });
  process.stdout.write(
    [
      '',
      `stack: ready. API ${stack.apiUrl} (OpenAPI: ${stack.apiUrl}/docs), API key: ${stack.authorization.slice('Bearer '.length)}`,
      `stack: Redis ${stack.services.redis.url} prefix ${stack.services.queuePrefix}; S3 ${stack.services.s3.endpoint} bucket ${stack.services.s3.bucket}`,
      `stack: try  curl -s -X POST ${stack.apiUrl}/v1/videos -H '${'Authorization'}: ${stack.authorization}' -H 'Content-Type: application/json' -d '{"prompt":"a red circle moving right"}'`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`stack: ${signal}, stopping …\n`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stack: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`stack: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
