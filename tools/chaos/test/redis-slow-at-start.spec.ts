import { findFreePort, startAppProcess, startTestServices, type TestServices, waitForHttpStatus } from '@magicvideo/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChaosRecord } from '../chaos-client';
import { startTcpFaultProxy, type TcpFaultProxy } from '../tcp-fault-proxy';

/**
 * Redis that answers late when the API starts (it starts after the API, or is slow under load):
 * the API waits for it rather than dying at startup. The proxy accepts each connection but holds
 * its bytes, so the API's connections exist but are not ready yet.
 */
describe('API start while Redis answers late', () => {
  let services: TestServices;
  let proxy: TcpFaultProxy;

  beforeAll(async () => {
    services = await startTestServices();
    proxy = await startTcpFaultProxy({ host: '127.0.0.1', port: Number(new URL(services.redis.url).port) });
  });

  afterAll(async () => {
    await proxy?.close();
    await services?.stop();
  });

  it('becomes ready once Redis answers, without exiting', async () => {
    proxy.holdNewConnectionsMs = 1_500;
    const port = await findFreePort();
    const app = startAppProcess('apps/api', {
      ...services.env,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      PORT: String(port),
      NODE_ENV: 'test',
      MODELS_DIR: 'assets/models/magicvideo-shapes',
      API_KEYS: 'chaos:chaos-key',
    });
    const exitedEarly = app.exited.then((exit) => {
      throw new Error(`the API exited while starting: ${JSON.stringify(exit)}\n${app.stdout().slice(-3000)}`);
    });
    try {
      const ready = await Promise.race([waitForHttpStatus(`http://127.0.0.1:${port}/readyz`, 200, 60_000), exitedEarly]);
      expect(ready.status).toBe(200);
      writeChaosRecord('redis-slow-at-start', {
        fault: 'Redis answering 1.5 s late while the API starts',
        faultsInjected: 1,
        videosAccepted: 0,
        videosSucceeded: 0,
        videosLost: 0,
        duplicated: 0,
        apiReadyWithoutRestart: 1,
      });
    } finally {
      app.kill('SIGTERM');
      await app.exited;
    }
  });
});
