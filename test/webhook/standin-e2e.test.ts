// End to end through the stand-in: its admission chain calls the real
// scribe-webhook process over HTTPS, the way kube-apiserver 1.24 does, and the
// webhook reads claims from the stand-in by list+watch with its kubeconfig.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specKeys, specPrefix, statusPrefix } from '../../model/src/index.ts';
import { injectedAnnotation } from '../../webhook/src/live-reading.ts';
import { OLDEST } from '../../webhook/src/server-capabilities.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/src/tls-authority.ts';
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from '../../webhook/src/webhook-configurations.ts';
import { createAdmissionChain } from '../standin/admission/index.ts';
import { type ApiServer, startApiServer } from '../standin/api/server.ts';

const ROOT = join(import.meta.dirname, '../..');
let dir: string;
let api: ApiServer;
let webhook: ChildProcess;
let stderr = '';
let core: CoreV1Api;
const NS = 'shop';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scribe-webhook-e2e-'));
  const ca = createCertificateAuthority('e2e-ca', { validityDays: 2 });
  const serving = issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
  await writeFile(join(dir, 'tls.crt'), serving.certPem);
  await writeFile(join(dir, 'tls.key'), serving.keyPem);
  const port = await freePort();
  // The configurations `kubectl scribe install` would apply to a 1.24 server, pointed at the process.
  const opts = {
    capabilities: OLDEST,
    namespace: 'scribe-system',
    service: 'scribe-webhook',
    annotationPrefixes: [specPrefix, statusPrefix],
    url: `https://127.0.0.1:${port}`,
    caBundle: Buffer.from(ca.certPem).toString('base64'),
  };
  const chain = createAdmissionChain({
    webhookConfigurations: () =>
      Promise.resolve({
        mutating: [mutatingWebhookConfiguration(opts)],
        validating: [validatingWebhookConfiguration(opts)],
      }),
    namespace: async (name) => {
      try {
        return await core.readNamespace({ name });
      } catch {
        return undefined;
      }
    },
    resolveService: () => Promise.reject(new Error('the webhook is called by URL here')),
  });
  api = await startApiServer({ name: 'source', admission: chain });
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(api.kubeconfig('source', 'default')));
  core = kc.makeApiClient(CoreV1Api);
  const kubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig, 'source');
  webhook = spawn(
    process.execPath,
    [
      join(ROOT, 'webhook/bin/scribe-webhook.ts'),
      '--kubeconfig',
      kubeconfig,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  webhook.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('"msg":"claim cache listed"') || !stderr.includes('"msg":"listening"')) {
    if (Date.now() > deadline || webhook.exitCode !== null)
      throw new Error(`webhook not up:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await core.createNamespace({ body: { metadata: { name: NS } } });
});

afterAll(async () => {
  if (webhook && webhook.exitCode === null) {
    const exited = new Promise((r) => webhook.once('exit', r));
    webhook.kill('SIGTERM');
    await exited;
  }
  await api?.stop();
  await rm(dir, { recursive: true, force: true });
});

function claim(name: string, annotations: Record<string, string>): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, annotations },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}
const live = {
  [specKeys.replication]: 'source',
  [specKeys.method]: 'live',
  [specKeys.destination]: 'dr/shop/data',
  [specKeys.endpoint]: '10.0.0.7:2222',
  [specKeys.secret]: 'data-scribe-keys',
  [specKeys.volumeMode]: 'Filesystem',
  [specKeys.schedule]: '*/5 * * * *',
};

describe("through the stand-in's admission chain (a 1.24 server)", () => {
  it("admits a live source claim and refuses a malformed one with the webhook's message", async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: claim('data', live) });
    const err = await core
      .createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body: claim('bad', { ...live, [specKeys.schedule]: 'hourly' }),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    expect(e.code).toBe(422);
    const status = JSON.parse(e.body) as { message: string; code: number };
    expect(status.message).toBe(
      `admission webhook "replication-spec.scribe.backube.io" denied the request: invalid replication spec: metadata.annotations[${specKeys.schedule}]: "hourly" is not a schedule: use 5 cron fields (e.g. "*/15 * * * *", "@hourly") or "manual"`,
    );
  });

  it('injects the live-copy sidecar (a regular container on 1.24) into a pod that mounts it, once', async () => {
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'app-' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'busybox:1.36',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    };
    // The webhook learns of the claim through its watch: allow it a moment.
    let stored: V1Pod | undefined;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      stored = await core.createNamespacedPod({ namespace: NS, body: structuredClone(pod) });
      if (stored.spec!.containers.length > 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(stored!.metadata!.name).toMatch(/^app-/);
    expect(stored!.spec!.containers.map((c) => c.name)).toEqual(['app', 'scribe-live-data']);
    expect(stored!.spec!.initContainers ?? []).toEqual([]);
    const sidecar = stored!.spec!.containers[1]!;
    expect(sidecar.command).toEqual([
      'scribe-webhook',
      'live-sync',
      '--schedule',
      '*/5 * * * *',
      '--',
      'send',
      '--volume',
      '/scribe/source',
      '--to',
      '10.0.0.7:2222',
      '--key',
      '/etc/scribe/keys/client_ed25519',
      '--known-host-key',
      '/etc/scribe/keys/host_ed25519.pub',
      '--json',
    ]);
    expect(sidecar.volumeMounts).toContainEqual({
      name: 'data',
      mountPath: '/scribe/source',
      readOnly: true,
    });
    expect(stored!.spec!.volumes!.map((v) => v.name)).toEqual(
      expect.arrayContaining(['data', 'scribe-live-data-keys', 'scribe-live-data-tmp']),
    );
    expect(stored!.metadata!.annotations![injectedAnnotation]).toBe('data');
    // The webhook logs once the response is written, so the line can trail the pod's creation.
    const logged = Date.now() + 5_000;
    while (!stderr.includes('"msg":"injected"') && Date.now() < logged)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(/"msg":"injected"/);
  });

  it('leaves kube-system alone (namespaceSelector) and pods without claims untouched', async () => {
    const plain = await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'plain' },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      },
    });
    expect(plain.spec!.containers.map((c) => c.name)).toEqual(['c']);
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'kube-system',
      body: claim('sys', live),
    });
    const sys = await core.createNamespacedPod({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'sys' },
        spec: {
          containers: [{ name: 'c', image: 'busybox:1.36' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'sys' } }],
        },
      },
    });
    expect(sys.spec!.containers.map((c) => c.name)).toEqual(['c']);
  });
});
