// A real HTTPS server for the plugin's I/O tests: a fresh self-signed
// certificate (openssl), every request recorded, answers from a handler.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The CN of the client certificate presented, if any. */
  clientCn: string | undefined;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (to test timeouts). */
  hang?: boolean;
}

export interface TestServer {
  url: string;
  caPem: string;
  requests: Recorded[];
  dir: string;
  /** A kubeconfig for this server with one context (and optional user fields). */
  writeKubeconfig(context: string, user?: Record<string, unknown>, namespace?: string): string;
  close(): Promise<void>;
}

export async function startTlsServer(handler: (r: Recorded) => Answer): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'scribe-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const requests: Recorded[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const server = https.createServer(
    // Client certificates are asked for but not required, so tests can see one.
    {
      key: readFileSync(join(dir, 'key.pem')),
      cert: caPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'https://x');
        const rec: Recorded = {
          method: req.method ?? '',
          path: u.pathname,
          query: Object.fromEntries(u.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          clientCn: peerCn(req.socket as TLSSocket),
        };
        requests.push(rec);
        const a = handler(rec);
        if (a.hang) {
          hanging.add(res);
          return;
        }
        res.writeHead(a.status, a.headers ?? { 'content-type': 'application/json' });
        res.end(a.body ?? '');
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    caPem,
    requests,
    dir,
    writeKubeconfig(context, user = { token: 'test-token' }, namespace) {
      const path = join(dir, `kubeconfig-${context}`);
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': context,
          clusters: [
            {
              name: context,
              cluster: {
                server: url,
                'certificate-authority-data': Buffer.from(caPem).toString('base64'),
              },
            },
          ],
          users: [{ name: context, user }],
          contexts: [
            {
              name: context,
              context: { cluster: context, user: context, ...(namespace ? { namespace } : {}) },
            },
          ],
        }),
      );
      return path;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function peerCn(socket: TLSSocket): string | undefined {
  const cn: string | string[] | undefined = socket.getPeerCertificate?.()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** A captured error response from the fixtures, as the server sent it. */
export function fixtureAnswer(
  file: string,
): Answer & { request: { method: string; path: string } } {
  const f = JSON.parse(readFileSync(file, 'utf8')) as {
    request: { method: string; path: string };
    response: { status: number; headers: Record<string, string>; rawBody: string };
  };
  return {
    request: f.request,
    status: f.response.status,
    headers: { 'content-type': f.response.headers['content-type'] ?? 'application/json' },
    body: f.response.rawBody,
  };
}
