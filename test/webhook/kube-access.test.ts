import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inClusterAccess, kubeconfigAccess } from '../../webhook/src/kube-access.ts';
import { KubeApiError, KubeClient } from '../../webhook/src/kube-client.ts';
import { fixture } from './support/fixtures.ts';

// The webhook's own API access: kubeconfig and ServiceAccount loading as
// kubectl and in-cluster clients do it, and API errors as the server sends them.

const dirs: string[] = [];
let server: Server | undefined;
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'scribe-kube-access-'));
  dirs.push(d);
  return d;
}

describe('kubeconfigAccess', () => {
  it('reads the current context, with file paths relative to the kubeconfig and data inline', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki/ca.crt'), 'CA PEM');
    writeFileSync(
      join(dir, 'config'),
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: dr',
        'clusters:',
        '- name: other',
        '  cluster: {server: "https://other:6443"}',
        '- name: dr-cluster',
        '  cluster: {server: "https://dr.example:6443/", certificate-authority: pki/ca.crt}',
        'users:',
        '- name: dr-user',
        `  user: {token: s3cret, client-key-data: ${Buffer.from('KEY').toString('base64')}}`,
        'contexts:',
        '- name: dr',
        '  context: {cluster: dr-cluster, user: dr-user}',
      ].join('\n'),
    );
    const a = await kubeconfigAccess(join(dir, 'config'));
    expect(a.server).toBe('https://dr.example:6443');
    expect(a.ca).toBe('CA PEM');
    expect(a.token?.()).toBe('s3cret');
    expect(a.clientKey).toBe('KEY');
    expect(a.insecureSkipTlsVerify).toBe(false);
  });

  it('refuses exec plugins, a missing context and an unreadable file with what to do', async () => {
    const dir = tempDir();
    const file = join(dir, 'config');
    writeFileSync(
      file,
      'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://k"}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n',
    );
    await expect(kubeconfigAccess(file)).rejects.toThrow(
      /exec or auth-provider plugin.*use a token or client certificate/,
    );
    writeFileSync(file, 'current-context: gone\ncontexts: []\n');
    await expect(kubeconfigAccess(file)).rejects.toThrow(/context "gone" not found/);
    await expect(kubeconfigAccess(join(dir, 'missing'))).rejects.toThrow(/cannot read kubeconfig/);
  });
});

describe('inClusterAccess', () => {
  it("uses the ServiceAccount's CA and re-reads the token, which the kubelet rotates", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(join(dir, 'token'), 'first\n');
    const a = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      dir,
    );
    expect(a.server).toBe('https://[fd00::1]:443');
    expect(a.ca).toBe('CLUSTER CA');
    expect(a.token?.()).toBe('first');
    writeFileSync(join(dir, 'token'), 'rotated\n');
    expect(a.token?.()).toBe('rotated');
  });

  it('says to pass --kubeconfig outside a pod', () => {
    expect(() => inClusterAccess({}, tempDir())).toThrow(/not running in a pod.*--kubeconfig/);
  });
});

describe('KubeClient', () => {
  it("turns the server's Status into an error with its code and message", async () => {
    const captured = fixture<{ response: { status: number; rawBody: string } }>(
      'errors/404-get-missing-pvc.json',
    );
    server = createServer((req, res) => {
      expect(req.headers.authorization).toBe('Bearer tok');
      res.writeHead(captured.response.status, { 'content-type': 'application/json' });
      res.end(captured.response.rawBody);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const kube = new KubeClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: () => 'tok',
    });
    try {
      const err = await kube
        .request('GET', '/api/v1/namespaces/x/persistentvolumeclaims/y')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).code).toBe(404);
      expect((err as KubeApiError).reason).toBe('NotFound');
      expect((err as KubeApiError).message).toMatch(/not found/);
    } finally {
      kube.close();
    }
  });

  it('reports a refused connection with the request it was making', async () => {
    const kube = new KubeClient({ server: 'http://127.0.0.1:1' });
    await expect(kube.request('GET', '/version')).rejects.toThrow(/GET \/version: .*ECONNREFUSED/);
    kube.close();
  });
});
