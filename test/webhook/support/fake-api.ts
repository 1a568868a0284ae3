import { writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { fixture } from './fixtures.ts';

// A small API server for what the webhook reads: /version (the captured 1.24
// answer unless told otherwise) and claims by list+watch, the way the captured
// apiserver served them. Watches stay open until close().

export interface FakeApi {
  url: string;
  seen: string[];
  writeKubeconfig(dir: string): Promise<string>;
  close(): Promise<void>;
}

export async function fakeApi(opts: {
  claims: V1PersistentVolumeClaim[];
  version?: { major: string; minor: string; gitVersion: string };
}): Promise<FakeApi> {
  const seen: string[] = [];
  const held: ServerResponse[] = [];
  const version = opts.version ?? fixture('discovery/version.json');
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== 'Bearer fake-token') {
      json(401, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
      return;
    }
    if (url.pathname === '/version') return json(200, version);
    if (url.pathname === '/api/v1/persistentvolumeclaims') {
      if (url.searchParams.get('watch')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        held.push(res);
        return;
      }
      return json(200, {
        kind: 'PersistentVolumeClaimList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '500' },
        items: opts.claims,
      });
    }
    json(404, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
      code: 404,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    async writeKubeconfig(dir: string) {
      const file = join(dir, 'kubeconfig');
      await writeFile(
        file,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          // client-node refuses plain HTTP unless TLS checks are off.
          clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'webhook', user: { token: 'fake-token' } }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'webhook' } }],
          'current-context': 'fake',
        }),
      );
      return file;
    },
    async close() {
      for (const r of held.splice(0)) r.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
