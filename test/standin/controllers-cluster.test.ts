import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_CLASS, CSI_CLASS, startCluster, type Cluster } from './cluster.ts';
import type { VolumeSnapshot } from './controllers/snapshots.ts';

const execFileP = promisify(execFile);
const NS = 'default';

let work: string;
let cluster: Cluster;
let kubeconfigPath: string;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

function claim(
  name: string,
  spec: Partial<NonNullable<V1PersistentVolumeClaim['spec']>> = {},
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '64Mi' } },
      storageClassName: CSI_CLASS,
      ...spec,
    },
  };
}

async function createClaim(pvc: V1PersistentVolumeClaim): Promise<void> {
  await cluster.clients.core.createNamespacedPersistentVolumeClaim({ namespace: NS, body: pvc });
}

async function boundPath(name: string): Promise<string> {
  const pvc = await waitFor(`claim ${name} to bind`, async () => {
    const c = await cluster.clients.core.readNamespacedPersistentVolumeClaim({
      name,
      namespace: NS,
    });
    return c.status?.phase === 'Bound' ? c : undefined;
  });
  const pv = await cluster.clients.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? '' });
  return pv.spec?.local?.path ?? '';
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
    timeout: 30_000,
  });
  return stdout;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'standin-cluster-'));
  cluster = await startCluster({
    name: 'test',
    dir: work,
    storageSizeMiB: 1024,
    log: process.env.STANDIN_LOG ? (m) => console.error(m) : () => undefined,
  });
  kubeconfigPath = join(work, 'kubeconfig');
  await cluster.api.writeKubeconfig(kubeconfigPath, 'test');
});

afterAll(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('storage through the API', () => {
  it('binds a claim to a real volume, both ways, like the PV binder', async () => {
    await createClaim(claim('data'));
    const path = await boundPath('data');
    expect((await stat(path)).isDirectory()).toBe(true);
    await writeFile(join(path, 'hello.txt'), 'hello');
    const pvc = await cluster.clients.core.readNamespacedPersistentVolumeClaim({
      name: 'data',
      namespace: NS,
    });
    expect(pvc.metadata?.annotations).toMatchObject({
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.kubernetes.io/storage-provisioner': 'standin.scribe.backube.io/local',
    });
    expect(pvc.status).toMatchObject({
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '64Mi' },
    });
    const pv = await cluster.clients.core.readPersistentVolume({
      name: pvc.spec?.volumeName ?? '',
    });
    expect(pv.status?.phase).toBe('Bound');
    expect(pv.spec).toMatchObject({
      storageClassName: CSI_CLASS,
      persistentVolumeReclaimPolicy: 'Delete',
      volumeMode: 'Filesystem',
      claimRef: { name: 'data', namespace: NS, uid: pvc.metadata?.uid },
    });
    expect(await kubectl('get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}')).toBe('Bound');
  });

  it('clones and restores snapshots as point-in-time copies', async () => {
    const src = await boundPath('data');
    await writeFile(join(src, 'state.txt'), 'v1');
    await createClaim(
      claim('data-clone', { dataSource: { kind: 'PersistentVolumeClaim', name: 'data' } }),
    );
    const clone = await boundPath('data-clone');
    const snap: VolumeSnapshot = {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'data-snap', namespace: NS },
      spec: { source: { persistentVolumeClaimName: 'data' } },
    };
    await cluster.clients.custom.createNamespacedCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace: NS,
      plural: 'volumesnapshots',
      body: snap,
    });
    const ready = await waitFor('the snapshot to be ready', async () => {
      const s = (await cluster.clients.custom.getNamespacedCustomObject({
        group: 'snapshot.storage.k8s.io',
        version: 'v1',
        namespace: NS,
        plural: 'volumesnapshots',
        name: 'data-snap',
      })) as VolumeSnapshot;
      return s.status?.readyToUse ? s : undefined;
    });
    expect(ready.status).toMatchObject({
      restoreSize: '64Mi',
      boundVolumeSnapshotContentName: expect.stringMatching(/^snapcontent-/),
    });
    expect(Date.parse(ready.status?.creationTime ?? '')).toBeGreaterThan(0);
    await writeFile(join(src, 'state.txt'), 'v2');
    await createClaim(
      claim('data-restored', {
        dataSource: {
          kind: 'VolumeSnapshot',
          apiGroup: 'snapshot.storage.k8s.io',
          name: 'data-snap',
        },
      }),
    );
    const restored = await boundPath('data-restored');
    expect(await readFile(join(clone, 'state.txt'), 'utf8')).toBe('v1');
    expect(await readFile(join(restored, 'state.txt'), 'utf8')).toBe('v1');
    expect(await readFile(join(restored, 'hello.txt'), 'utf8')).toBe('hello');
    expect(await readFile(join(src, 'state.txt'), 'utf8')).toBe('v2');
    const content = (await cluster.clients.custom.getClusterCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshotcontents',
      name: ready.status?.boundVolumeSnapshotContentName ?? '',
    })) as { spec: { driver: string; volumeSnapshotRef: { name: string } } };
    expect(content.spec).toMatchObject({
      driver: 'standin.scribe.backube.io/local',
      volumeSnapshotRef: { name: 'data-snap' },
    });
  });

  it('leaves a clone of a class without clone support Pending, with a ProvisioningFailed event', async () => {
    await createClaim(claim('plain', { storageClassName: BASIC_CLASS }));
    await boundPath('plain');
    await createClaim(
      claim('plain-clone', {
        storageClassName: BASIC_CLASS,
        dataSource: { kind: 'PersistentVolumeClaim', name: 'plain' },
      }),
    );
    const ev = await waitFor('a ProvisioningFailed event', async () => {
      const list = await cluster.clients.core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: 'involvedObject.name=plain-clone',
      });
      return list.items.find((e: CoreV1Event) => e.reason === 'ProvisioningFailed');
    });
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/StorageClass "standin-basic".*does not support cloning/);
    const pvc = await cluster.clients.core.readNamespacedPersistentVolumeClaim({
      name: 'plain-clone',
      namespace: NS,
    });
    expect(pvc.status?.phase).toBe('Pending');
  });

  it('deletes a released volume and its data', async () => {
    await createClaim(claim('scratch'));
    const path = await boundPath('scratch');
    const pvName =
      (
        await cluster.clients.core.readNamespacedPersistentVolumeClaim({
          name: 'scratch',
          namespace: NS,
        })
      ).spec?.volumeName ?? '';
    await cluster.clients.core.deleteNamespacedPersistentVolumeClaim({
      name: 'scratch',
      namespace: NS,
    });
    await waitFor('the volume to be deleted', async () => {
      try {
        await cluster.clients.core.readPersistentVolume({ name: pvName });
        return undefined;
      } catch {
        return true;
      }
    });
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(cluster.pool.root, 'volumes'))).not.toContain(pvName);
  });
});
