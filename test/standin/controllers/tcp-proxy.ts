// A TCP proxy on one address and port: each connection goes to the backend
// chosen when it arrives; with no backend it is closed at once, as a
// Service without ready endpoints refuses connections.

import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startTcpProxy(
  host: string,
  port: number,
  pick: () => { host: string; port: number } | undefined,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = createServer({ noDelay: true }, (client) => {
    track(client);
    const target = pick();
    if (target === undefined) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A reset on one side resets the other, as it would across a real proxy.
    upstream.once('error', () => client.resetAndDestroy());
    client.once('error', () => upstream.resetAndDestroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    host,
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
