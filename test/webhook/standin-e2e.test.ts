// End to end through the stand-in: its admission chain calls the real
// scribe-webhook process over HTTPS, the way kube-apiserver 1.24 does, and the
// webhook reads claims from the stand-in by list+watch with its kubeconfig.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specKeys, specPrefix, statusKeys, statusPrefix } from '../../model/src/index.ts';
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
let rbac: RbacAuthorizationV1Api;
let webhookPort = 0;
let webhookCa = '';
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
  webhookPort = port;
  webhookCa = ca.certPem;
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
  rbac = kc.makeApiClient(RbacAuthorizationV1Api);
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

/** An AdmissionReview as kube-apiserver sends it, posted to the webhook process. */
async function reviewAs(
  user: { username: string; groups: string[] },
  object: V1PersistentVolumeClaim,
  oldObject?: V1PersistentVolumeClaim,
): Promise<{ allowed: boolean; status?: { code: number; message: string } }> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
      name: object.metadata!.name,
      namespace: NS,
      operation: oldObject ? 'UPDATE' : 'CREATE',
      userInfo: user,
      object: { ...object, metadata: { ...object.metadata, namespace: NS } },
      oldObject: oldObject
        ? { ...oldObject, metadata: { ...oldObject.metadata, namespace: NS } }
        : null,
      dryRun: false,
    },
  });
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: webhookPort,
        path: '/validate/persistentvolumeclaims?timeout=3s',
        method: 'POST',
        ca: webhookCa,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (t += c));
        res.on('end', () => resolve(t));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  return (
    JSON.parse(text) as {
      response: { allowed: boolean; status?: { code: number; message: string } };
    }
  ).response;
}

describe('quiesce hooks need pods/exec: the webhook asks the stand-in a SubjectAccessReview', () => {
  const snapshot = {
    ...live,
    [specKeys.method]: 'snapshot',
    [specKeys.schedule]: 'manual',
  };
  const hooked = {
    ...snapshot,
    [specKeys.quiesceCommand]: '["sh","-c","sync"]',
    [specKeys.quiesceContainer]: 'db',
  };
  const authenticated = (username: string) => ({ username, groups: ['system:authenticated'] });

  it("the cluster admin sets a hook through the stand-in's admission chain", async () => {
    const created = await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: claim('hooked', hooked),
    });
    expect(created.metadata!.annotations![specKeys.quiesceCommand]).toBe('["sh","-c","sync"]');
  });

  it('a user a RoleBinding lets create pods/exec may set a hook; one without is refused, told what RBAC to get', async () => {
    await rbac.createNamespacedRole({
      namespace: NS,
      body: {
        metadata: { name: 'exec' },
        rules: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'alice-exec' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec' },
        subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    expect(await reviewAs(authenticated('alice'), claim('a', hooked))).toMatchObject({
      allowed: true,
    });
    const bob = await reviewAs(authenticated('bob'), claim('b', hooked));
    expect(bob.allowed).toBe(false);
    expect(bob.status!.code).toBe(403);
    expect(bob.status!.message).toBe(
      `persistentvolumeclaims "b" is forbidden: User "bob" cannot set metadata.annotations[${specKeys.quiesceCommand}], metadata.annotations[${specKeys.quiesceContainer}]: quiesce hooks make Scribe run commands in this namespace's pods, so setting them needs permission to create resource "pods/exec" in API group "" in the namespace "${NS}"; grant it with a Role (verbs: ["create"], resources: ["pods/exec"]) bound to the user, or ask someone who has it to set the hook`,
    );
    // Adding a hook to an existing claim is the same question.
    const added = await reviewAs(authenticated('bob'), claim('b', hooked), claim('b', snapshot));
    expect(added.allowed).toBe(false);
  });

  it('an UPDATE that leaves the hook as it was (the replicator writing status) or removes it is not asked about', async () => {
    const replicator = {
      username: 'system:serviceaccount:scribe-system:scribe-replicator',
      groups: [
        'system:serviceaccounts',
        'system:serviceaccounts:scribe-system',
        'system:authenticated',
      ],
    };
    const withStatus = claim('hooked', {
      ...hooked,
      [statusKeys.lastSyncEnd]: '2026-12-06T21:00:00Z',
    });
    const status = await reviewAs(replicator, withStatus, claim('hooked', hooked));
    expect(status.status?.message).toBeUndefined();
    expect(status.allowed).toBe(true);
    expect(
      await reviewAs(authenticated('bob'), claim('hooked', snapshot), claim('hooked', hooked)),
    ).toMatchObject({ allowed: true });
    // A quiesce record by hand would make the replicator run its undo command: bob may not.
    const record = claim('hooked', {
      ...hooked,
      [statusKeys.quiescedAt]: '2026-12-06T21:00:00Z',
      [statusKeys.quiescedPods]: 'web-0/web',
      [statusKeys.quiescedUndo]: '["sh","-c","anything"]',
    });
    const forged = await reviewAs(authenticated('bob'), record, claim('hooked', hooked));
    expect(forged.allowed).toBe(false);
    expect(forged.status!.message).toContain(
      `cannot set metadata.annotations[${statusKeys.quiescedAt}], metadata.annotations[${statusKeys.quiescedPods}], metadata.annotations[${statusKeys.quiescedUndo}]`,
    );
    // The replicator recording its own quiesce where the Role scribe-quiesce lets it exec.
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: {
        metadata: { name: 'scribe-quiesce' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec' },
        subjects: [
          { kind: 'ServiceAccount', name: 'scribe-replicator', namespace: 'scribe-system' },
        ],
      },
    });
    expect(await reviewAs(replicator, record, claim('hooked', hooked))).toMatchObject({
      allowed: true,
    });
    // Changing what runs is asked about, whoever writes it: Scribe's own ServiceAccounts too.
    const changed = claim('hooked', {
      ...hooked,
      [specKeys.quiesceCommand]: '["rm","-rf","/data"]',
    });
    const webhookSa = {
      username: 'system:serviceaccount:scribe-system:scribe-webhook',
      groups: ['system:serviceaccounts', 'system:authenticated'],
    };
    expect((await reviewAs(webhookSa, changed, claim('hooked', hooked))).allowed).toBe(false);
  });
});
