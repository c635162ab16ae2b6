import { createServer, type Server, type Socket, connect } from 'node:net';
import { findFreePort } from '@magicvideo/shared/testing';

/**
 * A TCP proxy in front of a service (Redis, S3) on a port of its own, through which a chaos test
 * injects the service's faults as its clients see them: an outage (every connection cut, new
 * ones refused, then the same port back) or a slow start (connections accepted but held).
 */
export interface TcpFaultProxy {
  /** `host:port` clients use instead of the service's. */
  port: number;
  /** Cuts every open connection and stops listening: the service is down. */
  goDown(): Promise<void>;
  /** Listens on the same port again. */
  comeBack(): Promise<void>;
  /** Holds each new connection this long before any byte passes (0: pass at once). */
  holdNewConnectionsMs: number;
  /** How many connections were cut by goDown. */
  connectionsCut: number;
  close(): Promise<void>;
}

export async function startTcpFaultProxy(target: { host: string; port: number }): Promise<TcpFaultProxy> {
  const port = await findFreePort();
  const open = new Set<Socket>();
  let server: Server | undefined;

  const handle = (client: Socket): void => {
    open.add(client);
    const upstream = connect(target.port, target.host);
    open.add(upstream);
    const forget = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', forget).on('error', forget);
    upstream.on('close', forget).on('error', forget);
    client.pause();
    const start = () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    if (proxy.holdNewConnectionsMs > 0) setTimeout(start, proxy.holdNewConnectionsMs);
    else start();
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(handle);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        resolve();
      });
    });

  const proxy: TcpFaultProxy = {
    port,
    holdNewConnectionsMs: 0,
    connectionsCut: 0,
    async goDown() {
      const closing = server;
      server = undefined;
      const closed = closing ? new Promise<void>((resolve) => closing.close(() => resolve())) : Promise.resolve();
      proxy.connectionsCut += [...open].filter((socket) => socket.remoteAddress === '127.0.0.1' && socket.localPort === port).length;
      for (const socket of open) socket.destroy();
      open.clear();
      await closed;
    },
    comeBack: listen,
    async close() {
      await proxy.goDown();
    },
  };
  await listen();
  return proxy;
}
