// End to end: the real kubectl binary finds `kubectl-scribe` on PATH and runs
// it against two stand-in clusters, "prod" and "dr", named by a KUBECONFIG of
// two files. The test plays what the clusters' controllers would do: a cloud
// load balancer that gives the endpoint Service an address, and Scribe's
// in-cluster server that answers a sync trigger with status annotations.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isScribeKey, specKeys, statusKeys } from '../../model/src/index.ts';
import { scribeWebhookDomain } from '../../plugin/src/plan/enable.ts';
import { startApiServer, type ApiServer } from '../standin/api/server.ts';
import { call, type Conn } from '../standin/api/testing.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const pluginBin = join(import.meta.dirname, '..', '..', 'plugin', 'bin');

let prod: ApiServer;
let dr: ApiServer;
let dir: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      { env, timeout: 90_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<Run> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

// Raw JSON from the API server, probed field by field in the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const conn = (s: ApiServer): Conn => ({ url: s.url, caPem: s.caPem, token: s.token });

async function get(s: ApiServer, path: string): Promise<{ status: number; body: Json }> {
  const r = await call(conn(s), 'GET', path);
  return { status: r.status, body: r.json() as Json };
}

const pvcPath = (name: string) => `/api/v1/namespaces/apps/persistentvolumeclaims/${name}`;

/** The cloud's load balancer controller, for one Service in dr. */
function loadBalancer(ip: string): () => void {
  let stopped = false;
  const tick = async () => {
    while (!stopped) {
      const svc = await get(dr, '/api/v1/namespaces/apps/services/scribe-dst-data');
      if (
        svc.status === 200 &&
        svc.body.spec?.type === 'LoadBalancer' &&
        !svc.body.status?.loadBalancer?.ingress
      ) {
        await call(
          conn(dr),
          'PATCH',
          '/api/v1/namespaces/apps/services/scribe-dst-data/status',
          { status: { loadBalancer: { ingress: [{ ip }] } } },
          { 'Content-Type': 'application/merge-patch+json' },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  void tick();
  return () => {
    stopped = true;
  };
}

const setup = (cls: string) => `apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: ${cls}
`;

beforeAll(async () => {
  if (!hasKubectl) return;
  dir = mkdtempSync(join(tmpdir(), 'scribe-e2e-'));
  [prod, dr] = await Promise.all([
    startApiServer({ name: 'prod' }),
    startApiServer({ name: 'dr' }),
  ]);
  await prod.writeKubeconfig(join(dir, 'prod.yaml'), 'prod');
  await dr.writeKubeconfig(join(dir, 'dr.yaml'), 'dr');
  // A third file: prod again, as a user who may only read.
  writeFileSync(
    join(dir, 'viewer.yaml'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [],
      users: [{ name: 'viewer', user: { token: prod.readOnlyToken } }],
      contexts: [{ name: 'prod-viewer', context: { cluster: 'prod', user: 'viewer' } }],
    }),
  );
  env = {
    PATH: `${pluginBin}:${process.env.PATH}`,
    HOME: dir,
    KUBECONFIG: `${join(dir, 'prod.yaml')}:${join(dir, 'dr.yaml')}:${join(dir, 'viewer.yaml')}`,
    SCRIBE_POLL_MS: '100',
  };
  await ok(['apply', '--context', 'prod', '-f', '-'], setup('csi.example.com'));
  await ok(['apply', '--context', 'dr', '-f', '-'], setup('csi.other.example'));
  await ok(
    ['apply', '--context', 'prod', '-f', '-'],
    `apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: snap}
driver: csi.example.com
deletionPolicy: Delete
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: apps}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`,
  );
  await ok(
    ['apply', '--context', 'dr', '-f', '-'],
    `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: blockdst, namespace: apps}
spec:
  accessModes: [ReadWriteOnce]
  volumeMode: Block
  resources: {requests: {storage: 5Gi}}
`,
  );
}, 120_000);

afterAll(async () => {
  if (!hasKubectl) return;
  await Promise.all([prod?.stop(), dr?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('kubectl scribe against two stand-in clusters', () => {
  it('kubectl finds the plugin', async () => {
    const r = await ok(['plugin', 'list']);
    expect(r.stdout).toContain(join(pluginBin, 'kubectl-scribe'));
    expect(r.stdout).not.toContain('kubectl_complete-scribe');
    const v = await ok(['scribe', 'version']);
    expect(v.stdout).toMatch(/^Scribe Version: v\d+\.\d+\.\d+\n/);
  });

  it('errors read like kubectl: unknown context, PVC not found, volume mode, no webhook', async () => {
    const noCtx = await kubectl([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'nowhere',
    ]);
    expect(noCtx.code).toBe(1);
    expect(noCtx.stderr).toBe(
      `error: context "nowhere" not found in kubeconfig files ${env.KUBECONFIG}; the contexts there are: prod, dr, prod-viewer (kubectl config get-contexts)\n`,
    );
    const noPvc = await kubectl(['scribe', 'enable', 'pvc', 'missing', '-n', 'apps', '--to', 'dr']);
    expect(noPvc.stderr).toBe(
      'error: persistentvolumeclaims "missing" not found in namespace "apps" (context "prod"): check the name with kubectl get pvc -n apps --context prod\n',
    );
    const mode = await kubectl([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'dr/apps/blockdst',
      '--skip-webhook-check',
    ]);
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain(
      "the source volume mode is Filesystem but the destination's is Block",
    );
    const hook = await kubectl(['scribe', 'enable', 'pvc', 'data', '-n', 'apps', '--to', 'dr']);
    expect(hook.code).toBe(1);
    expect(hook.stderr).toMatch(
      /^Warning: Scribe is not installed in context "dr": .*\nerror: Scribe's webhook is not installed in context "prod"/,
    );
    // Nothing was created by refused runs.
    expect((await get(dr, pvcPath('data'))).status).toBe(404);
  });

  it('--dry-run prints the plan and creates nothing', async () => {
    const r = await ok([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'dr',
      '--skip-webhook-check',
      '--dry-run',
    ]);
    expect(r.stdout).toContain('method clone: auto: the StorageClass supports volume cloning');
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data created (dry run) (context dr, namespace apps)',
    );
    expect(r.stdout).toContain(
      'service/scribe-dst-data created (dry run) (context dr, namespace apps)',
    );
    expect((await get(dr, pvcPath('data'))).status).toBe(404);
    expect((await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).status).toBe(
      404,
    );
  });

  it('a failure part-way removes what that run created', async () => {
    const r = await kubectl([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'dr/apps/data-two',
      '--skip-webhook-check',
      '--endpoint-timeout',
      '1s',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /service "scribe-dst-data-two" \(context dr, namespace apps\) has no load balancer address after 1s: .*\(everything this run created was removed again\)/,
    );
    expect(r.stdout).toContain('rolled back: persistentvolumeclaim/data-two (context dr)');
    expect(r.stdout).toContain('rolled back: secret/scribe-source-data (context prod)');
    // The PVC keeps its pvc-protection finalizer until that controller runs:
    // deleted means gone or terminating, as in a real cluster.
    const two = await get(dr, pvcPath('data-two'));
    expect(two.status === 404 || Boolean(two.body.metadata?.deletionTimestamp)).toBe(true);
    for (const p of [
      '/api/v1/namespaces/apps/secrets/scribe-destination-data-two',
      '/apis/apps/v1/namespaces/apps/deployments/scribe-dst-data-two',
      '/api/v1/namespaces/apps/services/scribe-dst-data-two',
    ]) {
      expect((await get(dr, p)).status, p).toBe(404);
    }
    expect((await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).status).toBe(
      404,
    );
    const src = await get(prod, pvcPath('data'));
    expect(
      Object.keys(src.body.metadata.annotations ?? {}).filter((k) => k.includes('scribe')),
    ).toEqual([]);
  });

  it('enable sets up both clusters; status shows the PVC protected; a second run changes nothing', async () => {
    const stop = loadBalancer('203.0.113.10');
    let r: Run;
    try {
      r = await ok([
        'scribe',
        'enable',
        'pvc',
        'data',
        '-n',
        'apps',
        '--to',
        'dr',
        '--skip-webhook-check',
      ]);
    } finally {
      stop();
    }
    expect(r.stdout).toContain('method clone: auto:');
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data protected: replicating to dr/apps/data through 203.0.113.10:2222, on schedule "*/15 * * * *"',
    );

    const src = (await get(prod, pvcPath('data'))).body;
    expect(src.metadata.annotations).toMatchObject({
      [specKeys.replication]: 'source',
      [specKeys.method]: 'clone',
      [specKeys.destination]: 'dr/apps/data',
      [specKeys.endpoint]: '203.0.113.10:2222',
      [specKeys.volumeMode]: 'Filesystem',
      [specKeys.secret]: 'scribe-source-data',
    });
    const dst = (await get(dr, pvcPath('data'))).body;
    expect(dst.spec).toMatchObject({
      volumeMode: 'Filesystem',
      resources: { requests: { storage: '1Gi' } },
    });
    // No class named across clusters: the plugin leaves it out and dr's
    // DefaultStorageClass admission gives the claim dr's default class.
    expect(dst.spec.storageClassName).toBe('fast');
    expect(dst.metadata.annotations).toMatchObject({
      [specKeys.replication]: 'destination',
      [specKeys.source]: 'prod/apps/data',
      [specKeys.secret]: 'scribe-destination-data',
      [specKeys.serviceType]: 'LoadBalancer',
    });

    // The key pairs match across the clusters.
    const srcSecret = (await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).body;
    const dstSecret = (await get(dr, '/api/v1/namespaces/apps/secrets/scribe-destination-data'))
      .body;
    const text = (s: Json, k: string) => Buffer.from(s.data[k], 'base64').toString();
    const pub = (pem: string) => {
      const k = ssh2.utils.parseKey(pem);
      if (k instanceof Error || Array.isArray(k)) throw new Error('bad key');
      return k.getPublicSSH().toString('base64');
    };
    // Each belongs to its claim: deleting the claim deletes its keys.
    expect(srcSecret.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data', uid: src.metadata.uid },
    ]);
    expect(dstSecret.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data', uid: dst.metadata.uid },
    ]);
    expect(Object.keys(srcSecret.data).sort()).toEqual(['client_ed25519', 'host_ed25519.pub']);
    expect(Object.keys(dstSecret.data).sort()).toEqual(['client_ed25519.pub', 'host_ed25519']);
    expect(pub(text(srcSecret, 'client_ed25519'))).toBe(pub(text(dstSecret, 'client_ed25519.pub')));
    expect(pub(text(dstSecret, 'host_ed25519'))).toBe(pub(text(srcSecret, 'host_ed25519.pub')));

    const dep = (await get(dr, '/apis/apps/v1/namespaces/apps/deployments/scribe-dst-data')).body;
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.template.spec.containers[0].image).toMatch(/^ghcr\.io\/backube\/scribe:v/);
    expect(dep.spec.template.spec.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'data' },
    });
    const svc = (await get(dr, '/api/v1/namespaces/apps/services/scribe-dst-data')).body;
    expect(svc.spec.type).toBe('LoadBalancer');

    const st = await ok(['scribe', 'status', '-n', 'apps']);
    const [header, row] = st.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^NAME\s+TARGET\s+STATE\s+METHOD\s+DESTINATION\s+SCHEDULE\s+LAST SYNC\s+LAG\s+RESULT\s+BYTES$/,
    );
    expect(row).toMatch(
      /^data\s+default\s+Protected\s+clone\s+dr\/apps\/data\s+\*\/15 \* \* \* \*\s+<none>\s+<none>\s+<none>\s+<none>$/,
    );
    const json = JSON.parse(
      (await ok(['scribe', 'status', 'pvc', 'data', '-n', 'apps', '-o', 'json'])).stdout,
    );
    expect(json).toMatchObject({
      metadata: { name: 'data' },
      state: 'Protected',
      spec: { endpoint: '203.0.113.10:2222' },
    });

    const rvBefore = srcSecret.metadata.resourceVersion;
    const again = await ok([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'dr',
      '--skip-webhook-check',
    ]);
    expect(again.stdout).toContain(
      'persistentvolumeclaim/data unchanged: already replicating to dr/apps/data',
    );
    const after = (await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).body;
    expect(after.metadata.resourceVersion).toBe(rvBefore);
  });

  it('sync sets the trigger; --wait follows the server to the result', async () => {
    const t0 = Date.now();
    const r = await ok(['scribe', 'sync', 'pvc', 'data', '-n', 'apps']);
    expect(r.stdout).toBe('persistentvolumeclaim/data sync requested\n');
    const requested = (await get(prod, pvcPath('data'))).body.metadata.annotations[
      specKeys.syncRequested
    ];
    expect(Date.parse(requested)).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000);

    // Scribe's server, played here: take the trigger, run, succeed.
    let stopped = false;
    const server = (async () => {
      let seen = requested;
      while (!stopped) {
        const a = (await get(prod, pvcPath('data'))).body.metadata.annotations;
        const want = a[specKeys.syncRequested];
        if (want && want !== seen) {
          seen = want;
          const start = new Date().toISOString();
          const patch = (annotations: Record<string, string>) =>
            call(
              conn(prod),
              'PATCH',
              pvcPath('data'),
              { metadata: { annotations } },
              {
                'Content-Type': 'application/merge-patch+json',
              },
            );
          await patch({
            [statusKeys.syncHandled]: want,
            [statusKeys.lastSyncStart]: start,
            [statusKeys.lastSyncResult]: 'Running',
          });
          await new Promise((res) => setTimeout(res, 400));
          await patch({
            [statusKeys.lastSyncResult]: 'Succeeded',
            [statusKeys.lastSyncEnd]: new Date().toISOString(),
            [statusKeys.lastSyncDuration]: '0.4s',
            [statusKeys.lastSyncBytes]: '1048576',
            [statusKeys.lastSyncFiles]: '3',
          });
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    await new Promise((res) => setTimeout(res, 1100)); // a new trigger value needs a new second
    let w: Run;
    try {
      w = await ok(['scribe', 'sync', 'pvc', 'data', '-n', 'apps', '--wait', '--timeout', '60s']);
    } finally {
      stopped = true;
      await server;
    }
    expect(w.stdout).toBe('persistentvolumeclaim/data synced in 0.4s: 1Mi, 3 files\n');
    expect(w.stderr).toMatch(/syncing for \d+s/);

    const st = await ok(['scribe', 'status', '-n', 'apps', '-o', 'wide']);
    expect(st.stdout.split('\n')[1]).toMatch(
      /^data\s+default\s+Protected\s+clone\s+dr\/apps\/data\s+\*\/15 \* \* \* \*\s+\d+s\s+\d+s\s+Succeeded\s+1Mi\s+203\.0\.113\.10:2222/,
    );
  });

  it('completion through kubectl: commands, PVC names, contexts', async () => {
    const words = async (...args: string[]) =>
      (await ok(['__complete', 'scribe', ...args])).stdout.trim().split('\n');
    expect(await words('')).toEqual([
      'enable',
      'status',
      'sync',
      'disable',
      'failover',
      'reverse',
      'migrate',
      'install',
      'uninstall',
      'doctor',
      'version',
      ':4',
    ]);
    expect(await words('sync', 'pvc', '-n', 'apps', '')).toEqual(['data', ':4']);
    expect(await words('enable', 'pvc', 'data', '--to', '')).toEqual([
      'prod',
      'dr',
      'prod-viewer',
      ':4',
    ]);
    expect(await words('status', '-o', '')).toEqual(['json', 'yaml', 'wide', ':4']);
    expect(await words('enable', 'pvc', 'data', '--scrub-')).toEqual([
      '--scrub-image',
      '--scrub-command',
      '--scrub-timeout',
      '--scrub-run-as-user',
      ':4',
    ]);
    expect(await words('enable', 'pvc', 'data', '--read-only-copy-access-mode', 'ReadO')).toEqual([
      'ReadOnlyMany',
      ':4',
    ]);
    expect(await words('enable', 'pvc', 'data', '--quiesce-')).toEqual([
      '--quiesce-command',
      '--quiesce-container',
      '--quiesce-timeout',
      ':4',
    ]);
  });

  it('disable cleans up both clusters and keeps the destination data', async () => {
    const r = await ok(['scribe', 'disable', 'pvc', 'data', '-n', 'apps']);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated (context prod, namespace apps)',
    );
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated (context dr, namespace apps) (data kept)',
    );
    for (const p of [
      '/api/v1/namespaces/apps/secrets/scribe-destination-data',
      '/apis/apps/v1/namespaces/apps/deployments/scribe-dst-data',
      '/api/v1/namespaces/apps/services/scribe-dst-data',
    ]) {
      expect((await get(dr, p)).status, p).toBe(404);
    }
    expect((await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).status).toBe(
      404,
    );
    const scribeKeys = (o: Json) => Object.keys(o.metadata.annotations ?? {}).filter(isScribeKey);
    expect(scribeKeys((await get(prod, pvcPath('data'))).body)).toEqual([]);
    const kept = await get(dr, pvcPath('data'));
    expect(kept.status).toBe(200);
    expect(scribeKeys(kept.body)).toEqual([]);

    const again = await ok(['scribe', 'disable', 'pvc', 'data', '-n', 'apps']);
    expect(again.stdout).toBe('persistentvolumeclaim/data unchanged: not replicated\n');
    const none = await ok(['scribe', 'status', '-n', 'apps']);
    expect(none.stderr).toBe('No replicated PVCs found in apps namespace.\n');
  });
  it('no permission names the verb and resource, and the run is undone on the other cluster', async () => {
    const r = await kubectl([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--context',
      'prod-viewer',
      '--to',
      'dr/apps/data-ro',
      '--skip-webhook-check',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /you need permission to create secrets in namespace "apps" \(context "prod-viewer"\): check with kubectl auth can-i create secrets -n apps --context prod-viewer \(everything this run created was removed again\)\n$/,
    );
    expect(r.stdout).toContain('rolled back: secret/scribe-destination-data-ro (context dr)');
    expect(
      (await get(dr, '/api/v1/namespaces/apps/secrets/scribe-destination-data-ro')).status,
    ).toBe(404);
  });

  it('within one cluster the endpoint is a ClusterIP Service, ready at once', async () => {
    await ok(
      ['apply', '--context', 'prod', '-f', '-'],
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: apps-dr}\n',
    );
    const r = await ok([
      'scribe',
      'enable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--to',
      'prod/apps-dr',
      '--skip-webhook-check',
      '--method',
      'snapshot',
      '--schedule',
      'manual',
    ]);
    expect(r.stdout).toContain('method snapshot: chosen with --method');
    expect(r.stdout).toMatch(/through 10\.96\.\d+\.\d+:2222, on demand \(kubectl scribe sync\)\n$/);
    const svc = (await get(prod, '/api/v1/namespaces/apps-dr/services/scribe-dst-data')).body;
    expect(svc.spec.type).toBe('ClusterIP');
    const dst = (await get(prod, '/api/v1/namespaces/apps-dr/persistentvolumeclaims/data')).body;
    expect(dst.spec.storageClassName).toBe('fast'); // the source's class: same cluster
    expect(dst.metadata.annotations[specKeys.serviceType]).toBe('ClusterIP');
    const gone = await ok([
      'scribe',
      'disable',
      'pvc',
      'data',
      '-n',
      'apps',
      '--delete-destination',
    ]);
    expect(gone.stdout).toContain(
      'persistentvolumeclaim/data deleted (context prod, namespace apps-dr)',
    );
  });
  it('Ctrl-C while waiting for the endpoint undoes the run', async () => {
    const child = spawn(
      join(pluginBin, 'kubectl-scribe'),
      [
        'enable',
        'pvc',
        'data',
        '-n',
        'apps',
        '--to',
        'dr/apps/data-int',
        '--skip-webhook-check',
        '--endpoint-timeout',
        '60s',
      ],
      { env },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('close', res));
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`never waited: ${stdout}${stderr}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        if (stdout.includes('waiting for the address')) {
          clearTimeout(t);
          res();
        }
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toBe(
      'error: interrupted by SIGINT (everything this run created was removed again)\n',
    );
    expect(stdout).toContain('rolled back: service/scribe-dst-data-int (context dr)');
    expect(stdout).toContain('rolled back: secret/scribe-source-data (context prod)');
    expect(
      (await get(dr, '/api/v1/namespaces/apps/secrets/scribe-destination-data-int')).status,
    ).toBe(404);
    expect((await get(prod, '/api/v1/namespaces/apps/secrets/scribe-source-data')).status).toBe(
      404,
    );
  });
  it("where Scribe runs on the destination, its server's endpoint is recorded and the plugin starts none", async () => {
    const hooks = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: scribe}
webhooks:
- name: pvc.${scribeWebhookDomain}
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {url: "https://127.0.0.1:1/validate"}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [persistentvolumeclaims]}]
`;
    // Registered only: these stand-ins were started without an admission chain.
    await ok(['apply', '--context', 'prod', '-f', '-'], hooks);
    await ok(['apply', '--context', 'dr', '-f', '-'], hooks);
    // dr's Scribe server, played here: for a destination PVC it makes a
    // Service it owns, and the cloud gives that Service an address.
    let stopped = false;
    const server = (async () => {
      while (!stopped) {
        const pvc = await get(dr, pvcPath('data-s'));
        const ann = pvc.status === 200 ? pvc.body.metadata.annotations : undefined;
        if (ann?.[specKeys.replication] === 'destination') {
          const svc = await get(dr, '/api/v1/namespaces/apps/services/scribe-data-s');
          if (svc.status === 404) {
            await call(conn(dr), 'POST', '/api/v1/namespaces/apps/services', {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: {
                name: 'scribe-data-s',
                namespace: 'apps',
                ownerReferences: [
                  {
                    apiVersion: 'v1',
                    kind: 'PersistentVolumeClaim',
                    name: 'data-s',
                    uid: pvc.body.metadata.uid,
                  },
                ],
              },
              spec: { type: ann[specKeys.serviceType], ports: [{ port: 2222 }] },
            });
          } else if (!svc.body.status?.loadBalancer?.ingress) {
            await call(
              conn(dr),
              'PATCH',
              '/api/v1/namespaces/apps/services/scribe-data-s/status',
              { status: { loadBalancer: { ingress: [{ hostname: 'scribe.dr.example' }] } } },
              { 'Content-Type': 'application/merge-patch+json' },
            );
          }
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    let r: Run;
    try {
      r = await ok(['scribe', 'enable', 'pvc', 'data', '-n', 'apps', '--to', 'dr/apps/data-s']);
    } finally {
      stopped = true;
      await server;
    }
    expect(r.stdout).toContain(
      "waiting for the address of the endpoint Scribe's server runs for persistentvolumeclaim/data-s (context dr)",
    );
    expect(r.stdout).toContain('replicating to dr/apps/data-s through scribe.dr.example:2222');
    expect(r.stdout).not.toContain('deployment.apps/');
    expect(
      (await get(dr, '/apis/apps/v1/namespaces/apps/deployments/scribe-dst-data-s')).status,
    ).toBe(404);
    const src = (await get(prod, pvcPath('data'))).body;
    expect(src.metadata.annotations[specKeys.endpoint]).toBe('scribe.dr.example:2222');

    await ok(['scribe', 'disable', 'pvc', 'data', '-n', 'apps']);
    await ok(['delete', 'validatingwebhookconfiguration', 'scribe', '--context', 'prod']);
    await ok(['delete', 'validatingwebhookconfiguration', 'scribe', '--context', 'dr']);
  });
});
