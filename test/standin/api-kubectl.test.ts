// Conformance against the real kubectl (v1.32): every command below runs the
// binary with a kubeconfig the stand-in wrote, and checks what kubectl prints
// and what the server then holds.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type AdmissionChain } from './api/admission-seam.ts';
import { startApiServer, type ApiServer } from './api/server.ts';
import { call, type Conn } from './api/testing.ts';

const run = promisify(execFile);
let server: ApiServer;
let admin: Conn;
let dir: string;
let env: NodeJS.ProcessEnv;

// A chain with a warning for annotated claims and a denial, like the capture's webhook.
const chain: AdmissionChain = {
  mutate: (a) => {
    const ann = a.object?.metadata?.annotations ?? {};
    const warnings = ann['example.io/warn'] ? [`claim ${a.name} carries example.io/warn`] : [];
    return Promise.resolve({ object: a.object, warnings });
  },
  validate: (a) => {
    if (a.object?.metadata?.annotations?.['fixtures.example.io/deny'] === 'true') {
      return Promise.reject(
        new ApiError({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'admission webhook "validating.example.io" denied the request: no',
          code: 403,
        }),
      );
    }
    return Promise.resolve({ warnings: [] });
  },
};

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function kubectl(...args: string[]): Promise<Out> {
  try {
    const r = await run('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], {
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof x.code === 'number' ? x.code : -1,
      stdout: x.stdout ?? '',
      stderr: x.stderr ?? '',
    };
  }
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function manifest(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

const claim = (name: string, extra = '') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
  namespace: conf
${extra}spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 1Gi
`;

beforeAll(async () => {
  server = await startApiServer({
    admission: chain,
    podLogs: (ns, pod, container) => Promise.resolve(`log of ${ns}/${pod}/${container ?? ''}\n`),
  });
  admin = { url: server.url, caPem: server.caPem, token: server.token };
  dir = await mkdtemp(join(tmpdir(), 'standin-kubectl-'));
  await server.writeKubeconfig(join(dir, 'kubeconfig'), 'standin');
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') };
  // A typed-client create: kubectl sends it as protobuf.
  await ok('create', 'namespace', 'conf');
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('kubectl against the stand-in', () => {
  it('version, api-resources and get namespaces', async () => {
    const v = await ok('version', '-o', 'json');
    expect(JSON.parse(v).serverVersion.gitVersion).toBe('v1.24.0+0');
    const ar = await ok('api-resources', '--api-group=snapshot.storage.k8s.io', '-o', 'name');
    expect(ar.trim().split('\n').sort()).toEqual([
      'volumesnapshotclasses.snapshot.storage.k8s.io',
      'volumesnapshotcontents.snapshot.storage.k8s.io',
      'volumesnapshots.snapshot.storage.k8s.io',
    ]);
    const ns = await ok('get', 'ns');
    expect(ns).toMatch(/^NAME\s+STATUS\s+AGE\n/);
    expect(ns).toMatch(/\nconf\s+Active\s+\d+s\n/);
  });

  it('api-resources lists the access reviews and auth can-i asks them', async () => {
    const ar = await ok('api-resources', '--api-group=authorization.k8s.io', '-o', 'name');
    expect(ar.trim().split('\n').sort()).toEqual([
      'selfsubjectaccessreviews.authorization.k8s.io',
      'subjectaccessreviews.authorization.k8s.io',
    ]);
    expect((await ok('auth', 'can-i', 'create', 'pods', '--subresource=exec')).trim()).toBe('yes');
  });

  it('create -f, get (table, -o wide, -o json, -o yaml), describe', async () => {
    expect(await ok('create', '-f', await manifest('c1.yaml', claim('c1')))).toBe(
      'persistentvolumeclaim/c1 created\n',
    );
    const table = await ok('-n', 'conf', 'get', 'pvc');
    expect(table.split('\n')[0]).toMatch(
      /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+AGE$/,
    );
    expect(table).toMatch(/\nc1\s+Pending\s+\d+s\n/);
    const wide = await ok('-n', 'conf', 'get', 'pvc', 'c1', '-o', 'wide');
    expect(wide.split('\n')[0]).toMatch(/AGE\s+VOLUMEMODE$/);
    expect(wide).toMatch(/\nc1\s+Pending\s+\d+s\s+Filesystem\n/);
    const json = JSON.parse(await ok('-n', 'conf', 'get', 'pvc', 'c1', '-o', 'json'));
    expect(json.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect(json.spec.volumeMode).toBe('Filesystem');
    const yaml = await ok('-n', 'conf', 'get', 'pvc', 'c1', '-o', 'yaml');
    expect(yaml).toContain('  phase: Pending\n');
    const d = await ok('-n', 'conf', 'describe', 'pvc', 'c1');
    expect(d).toMatch(/^Name:\s+c1\nNamespace:\s+conf\n/);
    expect(d).toMatch(/\nFinalizers:\s+\[kubernetes.io\/pvc-protection\]\n/);
    expect(d).toMatch(/\nEvents:\s+<none>\n/);
  });

  it('annotate (add, then remove with key-) and label; -l and --field-selector', async () => {
    expect(
      await ok('-n', 'conf', 'annotate', 'pvc', 'c1', 'scribe.backube.io/replication=source'),
    ).toBe('persistentvolumeclaim/c1 annotated\n');
    expect(
      await ok(
        '-n',
        'conf',
        'get',
        'pvc',
        'c1',
        '-o',
        "jsonpath={.metadata.annotations['scribe\\.backube\\.io/replication']}",
      ),
    ).toBe('source');
    await ok('-n', 'conf', 'annotate', 'pvc', 'c1', 'scribe.backube.io/replication-');
    expect(
      JSON.parse(await ok('-n', 'conf', 'get', 'pvc', 'c1', '-o', 'json')).metadata.annotations,
    ).toBeUndefined();
    expect(await ok('-n', 'conf', 'label', 'pvc', 'c1', 'tier=gold')).toBe(
      'persistentvolumeclaim/c1 labeled\n',
    );
    await ok('create', '-f', await manifest('c2.yaml', claim('c2')));
    expect(await ok('-n', 'conf', 'get', 'pvc', '-l', 'tier=gold', '-o', 'name')).toBe(
      'persistentvolumeclaim/c1\n',
    );
    expect(await ok('-n', 'conf', 'get', 'pvc', '-l', '!tier', '-o', 'name')).toBe(
      'persistentvolumeclaim/c2\n',
    );
    expect(
      await ok('-n', 'conf', 'get', 'pvc', '--field-selector', 'metadata.name=c2', '-o', 'name'),
    ).toBe('persistentvolumeclaim/c2\n');
    const bad = await kubectl('-n', 'conf', 'annotate', 'pvc', 'c1', 'bad key=x');
    expect(bad.code).not.toBe(0);
  });

  it('apply (create, configure, unchanged) and apply --server-side (create, update, conflict)', async () => {
    const v1 = await manifest(
      'a1.yaml',
      claim('applied', '  annotations:\n    example.io/a: "1"\n'),
    );
    const v2 = await manifest(
      'a2.yaml',
      claim('applied', '  annotations:\n    example.io/a: "2"\n    example.io/b: "x"\n'),
    );
    expect(await ok('apply', '-f', v1)).toBe('persistentvolumeclaim/applied created\n');
    expect(await ok('apply', '-f', v2)).toBe('persistentvolumeclaim/applied configured\n');
    expect(await ok('apply', '-f', v2)).toBe('persistentvolumeclaim/applied unchanged\n');
    const ann = JSON.parse(await ok('-n', 'conf', 'get', 'pvc', 'applied', '-o', 'json')).metadata
      .annotations;
    expect(ann['example.io/a']).toBe('2');
    expect(ann['example.io/b']).toBe('x');
    expect(ann['kubectl.kubernetes.io/last-applied-configuration']).toContain('"example.io/b":"x"');
    // Dropping a key from the file removes it (the three-way patch deletes it).
    expect(await ok('apply', '-f', v1)).toBe('persistentvolumeclaim/applied configured\n');
    expect(
      JSON.parse(await ok('-n', 'conf', 'get', 'pvc', 'applied', '-o', 'json')).metadata
        .annotations['example.io/b'],
    ).toBeUndefined();

    const s1 = await manifest(
      's1.yaml',
      claim('ssa', '  annotations:\n    example.io/owner: kubectl\n'),
    );
    const s2 = await manifest(
      's2.yaml',
      claim('ssa', '  annotations:\n    example.io/owner: kubectl\n    example.io/more: "yes"\n'),
    );
    expect(await ok('apply', '--server-side', '-f', s1)).toBe(
      'persistentvolumeclaim/ssa serverside-applied\n',
    );
    expect(await ok('apply', '--server-side', '-f', s2)).toBe(
      'persistentvolumeclaim/ssa serverside-applied\n',
    );
    const other = await manifest(
      's3.yaml',
      claim('ssa', '  annotations:\n    example.io/owner: scribe\n'),
    );
    const conflict = await kubectl('apply', '--server-side', '--field-manager=scribe', '-f', other);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .metadata.annotations.example.io/owner',
    );
    expect(
      await ok(
        'apply',
        '--server-side',
        '--field-manager=scribe',
        '--force-conflicts',
        '-f',
        other,
      ),
    ).toBe('persistentvolumeclaim/ssa serverside-applied\n');
    const mf = JSON.parse(
      await ok('-n', 'conf', 'get', 'pvc', 'ssa', '-o', 'json', '--show-managed-fields'),
    ).metadata.managedFields;
    expect(
      mf.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`),
    ).toEqual(['kubectl/Apply', 'scribe/Apply']);
  });

  it('patch --type merge, json and strategic', async () => {
    expect(
      await ok(
        '-n',
        'conf',
        'patch',
        'pvc',
        'c2',
        '--type',
        'merge',
        '-p',
        '{"metadata":{"labels":{"m":"1"}}}',
      ),
    ).toBe('persistentvolumeclaim/c2 patched\n');
    await ok(
      '-n',
      'conf',
      'patch',
      'pvc',
      'c2',
      '--type',
      'json',
      '-p',
      '[{"op":"add","path":"/metadata/labels/j","value":"2"}]',
    );
    await ok(
      '-n',
      'conf',
      'patch',
      'pvc',
      'c2',
      '--type',
      'strategic',
      '-p',
      '{"metadata":{"labels":{"s":"3"}}}',
    );
    expect(
      JSON.parse(await ok('-n', 'conf', 'get', 'pvc', 'c2', '-o', 'json')).metadata.labels,
    ).toEqual({ m: '1', j: '2', s: '3' });
    const bad = await kubectl(
      '-n',
      'conf',
      'patch',
      'pvc',
      'c2',
      '--type',
      'merge',
      '-p',
      '{"spec":{"volumeMode":"Block"}}',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The PersistentVolumeClaim "c2" is invalid: ');
    expect(bad.stderr).toContain('volumeMode: Invalid value: "Block": field is immutable');
  });

  it('pods: create, get -o wide, describe, strategic patch of an image, delete', async () => {
    const pod = await manifest(
      'pod.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: conf
spec:
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: c1
`,
    );
    await ok('create', '-f', pod);
    const wide = await ok('-n', 'conf', 'get', 'pods', '-o', 'wide');
    expect(wide.split('\n')[0]).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/,
    );
    expect(wide).toMatch(/\napp\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>/);
    const d = await ok('-n', 'conf', 'describe', 'pod', 'app');
    expect(d).toMatch(
      /\/var\/run\/secrets\/kubernetes.io\/serviceaccount from kube-api-access-[a-z0-9]{5} \(ro\)/,
    );
    expect(d).toMatch(/QoS Class:\s+BestEffort/);
    await ok(
      '-n',
      'conf',
      'patch',
      'pod',
      'app',
      '-p',
      '{"spec":{"containers":[{"name":"app","image":"busybox:1.37"}]}}',
    );
    expect(
      await ok('-n', 'conf', 'get', 'pod', 'app', '-o', 'jsonpath={.spec.containers[0].image}'),
    ).toBe('busybox:1.37');
    expect(await ok('-n', 'conf', 'delete', 'pod', 'app')).toBe('pod "app" deleted\n');
  });

  it('get -w prints the initial table, then each change; delete of a claim waits for its removal', async () => {
    const child = spawn(
      'kubectl',
      ['--cache-dir', join(dir, 'cache'), '-n', 'conf', 'get', 'pvc', '-w'],
      { env },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(re);
    };
    try {
      await waitFor(/^NAME\s+STATUS/);
      await ok('create', '-f', await manifest('w.yaml', claim('watched')));
      await waitFor(/\nwatched\s+Pending/);
      expect(await ok('-n', 'conf', 'delete', 'pvc', 'watched')).toBe(
        'persistentvolumeclaim "watched" deleted\n',
      );
      await waitFor(/\nwatched\s+Terminating/);
    } finally {
      child.kill('SIGINT');
    }
    expect(
      (await call(admin, 'GET', '/api/v1/namespaces/conf/persistentvolumeclaims/watched')).status,
    ).toBe(404);
  });

  it('create --dry-run=server -o json answers in full and stores nothing', async () => {
    const out = JSON.parse(
      await ok(
        'create',
        '--dry-run=server',
        '-o',
        'json',
        '-f',
        await manifest('dry.yaml', claim('dry')),
      ),
    );
    expect(out.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.status).toEqual({ phase: 'Pending' });
    expect((await kubectl('-n', 'conf', 'get', 'pvc', 'dry')).stderr).toBe(
      'Error from server (NotFound): persistentvolumeclaims "dry" not found\n',
    );
  });

  it('admission warnings are printed; a denial reads like the capture', async () => {
    const warned = await kubectl(
      'create',
      '-f',
      await manifest('warn.yaml', claim('warned', '  annotations:\n    example.io/warn: "1"\n')),
    );
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe('Warning: claim warned carries example.io/warn\n');
    const file = await manifest(
      'deny.yaml',
      claim('denied', '  annotations:\n    fixtures.example.io/deny: "true"\n'),
    );
    const denied = await kubectl('create', '-f', file);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(
      `Error from server: error when creating "${file}": admission webhook "validating.example.io" denied the request: no\n`,
    );
  });

  it('other kinds: secrets, configmaps, services, jobs, storage classes, volume snapshots, leases, RBAC', async () => {
    await ok('-n', 'conf', 'create', 'secret', 'generic', 'keys', '--from-literal=a=b');
    await ok('-n', 'conf', 'create', 'configmap', 'cfg', '--from-literal=a=b');
    await ok('-n', 'conf', 'create', 'service', 'clusterip', 'svc', '--tcp=8022:22');
    await ok('-n', 'conf', 'create', 'job', 'once', '--image=busybox:1.36', '--', 'true');
    await ok('-n', 'conf', 'create', 'role', 'r', '--verb=get', '--resource=pods');
    await ok('-n', 'conf', 'create', 'rolebinding', 'rb', '--role=r', '--user=u');
    await ok(
      'apply',
      '-f',
      await manifest(
        'snap.yaml',
        `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: standin.example.io
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: snaps
driver: standin.example.io
deletionPolicy: Delete
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: s1
  namespace: conf
spec:
  volumeSnapshotClassName: snaps
  source:
    persistentVolumeClaimName: c1
`,
      ),
    );
    const snaps = await ok('-n', 'conf', 'get', 'volumesnapshot');
    expect(snaps.split('\n')[0]).toMatch(
      /^NAME\s+READYTOUSE\s+SOURCEPVC\s+SOURCESNAPSHOTCONTENT\s+RESTORESIZE\s+SNAPSHOTCLASS\s+SNAPSHOTCONTENT\s+CREATIONTIME\s+AGE$/,
    );
    expect(snaps).toMatch(/\ns1\s+c1\s+snaps\s+\d+s\n/);
    expect(await ok('get', 'sc')).toMatch(
      /\nfast\s+standin.example.io\s+Delete\s+Immediate\s+false\s+\d+s\n/,
    );
    const svc = await ok('-n', 'conf', 'get', 'svc', 'svc');
    expect(svc).toMatch(/\nsvc\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+8022\/TCP\s+\d+s\n/);
    expect(await ok('-n', 'conf', 'get', 'secret', 'keys')).toMatch(/\nkeys\s+Opaque\s+1\s+\d+s\n/);
    expect(await ok('-n', 'conf', 'get', 'job', 'once')).toMatch(/\nonce\s+0\/1\s+\d+s\n/);
    expect(await ok('-n', 'conf', 'get', 'sa', 'default', '-o', 'name')).toBe(
      'serviceaccount/default\n',
    );
    expect(await ok('-n', 'conf', 'delete', 'job', 'once')).toBe('job.batch "once" deleted\n');
  });

  it('nodes and pod logs', async () => {
    await ok(
      'apply',
      '-f',
      await manifest(
        'node.yaml',
        'apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    node-role.kubernetes.io/worker: ""\n',
      ),
    );
    expect(await ok('get', 'nodes')).toMatch(
      /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nn1\s+NotReady\s+worker\s+\d+s\s*\n$/,
    );
    await ok('-n', 'conf', 'run', 'logged', '--image=busybox:1.36', '--restart=Never');
    expect(await ok('-n', 'conf', 'logs', 'logged')).toBe('log of conf/logged/logged\n');
  });

  it('delete namespace removes its contents', async () => {
    expect(await ok('delete', 'namespace', 'conf')).toBe('namespace "conf" deleted\n');
    expect((await kubectl('get', 'ns', 'conf')).stderr).toBe(
      'Error from server (NotFound): namespaces "conf" not found\n',
    );
  });
});
