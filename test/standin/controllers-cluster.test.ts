import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASIC_CLASS,
  CSI_CLASS,
  startCluster,
  type AdmissionDeps,
  type Cluster,
} from './cluster.ts';
import type { VolumeSnapshot } from './controllers/snapshots.ts';

const execFileP = promisify(execFile);
const NS = 'default';

let work: string;
let cluster: Cluster;
let kubeconfigPath: string;
let admissionDeps: AdmissionDeps | undefined;
let seen = 0;

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
    // An admission chain that admits everything and keeps what the cluster gives it.
    admission: (d) => {
      admissionDeps = d;
      seen = 0;
      return {
        mutate: (a) => {
          seen++;
          return Promise.resolve({ object: a.object, warnings: [] });
        },
        validate: () => Promise.resolve({ warnings: [] }),
      };
    },
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
    expect(ready.spec?.volumeSnapshotClassName).toBe('standin-snapclass');
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

  it('gives Block claims a device that pods see at their devicePath, and snapshots it', async () => {
    await createClaim(
      claim('disk', { volumeMode: 'Block', resources: { requests: { storage: '16Mi' } } }),
    );
    const device = await boundPath('disk');
    const st = await stat(device);
    expect(cluster.pool.loopDevices ? st.isBlockDevice() : st.isFile()).toBe(true);
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'writer' },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
          containers: [
            {
              name: 'w',
              image: 'ghcr.io/backube/scribe:latest',
              command: [
                'sh',
                '-c',
                'printf block-data | dd of=/dev/scribe-volume conv=notrunc,fsync 2>/dev/null && echo wrote',
              ],
              volumeDevices: [{ name: 'disk', devicePath: '/dev/scribe-volume' }],
            },
          ],
        },
      },
    });
    await waitFor('the writer pod to succeed', async () => {
      const p = await cluster.clients.core.readNamespacedPod({ name: 'writer', namespace: NS });
      if (p.status?.phase === 'Failed') throw new Error(JSON.stringify(p.status.containerStatuses));
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    const head = async (path: string): Promise<string> =>
      (await readFile(path)).subarray(0, 10).toString();
    expect(await head(device)).toBe('block-data');

    await cluster.clients.custom.createNamespacedCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace: NS,
      plural: 'volumesnapshots',
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'disk-snap' },
        spec: { source: { persistentVolumeClaimName: 'disk' } },
      },
    });
    await waitFor('the block snapshot', async () => {
      const s = (await cluster.clients.custom.getNamespacedCustomObject({
        group: 'snapshot.storage.k8s.io',
        version: 'v1',
        namespace: NS,
        plural: 'volumesnapshots',
        name: 'disk-snap',
      })) as VolumeSnapshot;
      return s.status?.readyToUse ? s : undefined;
    });
    await writeFile(device, 'later-data', { flag: 'r+' });
    await createClaim(
      claim('disk-restored', {
        volumeMode: 'Block',
        resources: { requests: { storage: '16Mi' } },
        dataSource: {
          kind: 'VolumeSnapshot',
          apiGroup: 'snapshot.storage.k8s.io',
          name: 'disk-snap',
        },
      }),
    );
    const restored = await boundPath('disk-restored');
    expect(await head(restored)).toBe('block-data');
    expect(await head(device)).toBe('later-data');
  });

  it('binds a WaitForFirstConsumer claim only once a pod uses it', async () => {
    await cluster.clients.storage.createStorageClass({
      body: {
        metadata: { name: 'late' },
        provisioner: 'standin.scribe.backube.io/local',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
    });
    await createClaim(claim('late-claim', { storageClassName: 'late' }));
    await waitFor('a WaitForFirstConsumer event', async () => {
      const list = await cluster.clients.core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: 'involvedObject.name=late-claim',
      });
      return list.items.find((e: CoreV1Event) => e.reason === 'WaitForFirstConsumer');
    });
    const pending = await cluster.clients.core.readNamespacedPersistentVolumeClaim({
      name: 'late-claim',
      namespace: NS,
    });
    expect(pending.status?.phase).toBe('Pending');
    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'consumer' },
        spec: {
          automountServiceAccountToken: false,
          volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'late-claim' } }],
          containers: [
            {
              name: 'c',
              image: 'ghcr.io/backube/scribe:latest',
              command: ['sleep', '600'],
              volumeMounts: [{ name: 'v', mountPath: '/data' }],
            },
          ],
        },
      },
    });
    await boundPath('late-claim');
    await waitFor('the consumer to run', async () => {
      const p = await cluster.clients.core.readNamespacedPod({ name: 'consumer', namespace: NS });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    await cluster.clients.core.deleteNamespacedPod({ name: 'consumer', namespace: NS });
  });

  it('removes a deleted snapshot, its content and its data', async () => {
    const snapshots = {
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace: NS,
      plural: 'volumesnapshots',
    };
    await cluster.clients.custom.createNamespacedCustomObject({
      ...snapshots,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'short-lived' },
        spec: { source: { persistentVolumeClaimName: 'data' } },
      },
    });
    const ready = await waitFor('the snapshot to be ready', async () => {
      const s = (await cluster.clients.custom.getNamespacedCustomObject({
        ...snapshots,
        name: 'short-lived',
      })) as VolumeSnapshot;
      return s.status?.readyToUse ? s : undefined;
    });
    const content = ready.status?.boundVolumeSnapshotContentName ?? '';
    expect(await readdir(join(cluster.pool.root, 'snapshots'))).toContain(content);
    await cluster.clients.custom.deleteNamespacedCustomObject({
      ...snapshots,
      name: 'short-lived',
    });
    await waitFor('the snapshot data to go', async () =>
      (await readdir(join(cluster.pool.root, 'snapshots'))).includes(content) ? undefined : true,
    );
    await waitFor('the content to go', async () => {
      try {
        await cluster.clients.custom.getClusterCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshotcontents',
          name: content,
        });
        return undefined;
      } catch {
        return true;
      }
    });
  });

  it('gives the admission chain webhook configurations, namespaces and Services that resolve to their pods', async () => {
    const deps = admissionDeps as AdmissionDeps;
    expect(seen).toBeGreaterThan(0);
    expect(await deps.webhookConfigurations()).toEqual({ mutating: [], validating: [] });
    expect((await deps.namespace('default'))?.metadata?.name).toBe('default');
    expect(await deps.namespace('nowhere')).toBeUndefined();
    await expect(
      deps.resolveService({ namespace: NS, name: 'webhook', port: 443 }),
    ).rejects.toThrow('service "webhook" not found');

    await cluster.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'webhook-0', labels: { app: 'webhook' } },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'w',
              image: 'ghcr.io/backube/scribe:latest',
              command: [
                'node',
                '-e',
                "require('net').createServer((s) => s.end('hello from ' + process.env.POD_NAME)).listen(8443, process.env.POD_IP)",
              ],
              env: [
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [{ name: 'https', containerPort: 8443 }],
              readinessProbe: { tcpSocket: { port: 'https' }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    await cluster.clients.core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'webhook' },
        spec: { selector: { app: 'webhook' }, ports: [{ port: 443, targetPort: 'https' }] },
      },
    });
    await expect(deps.resolveService({ namespace: NS, name: 'webhook', port: 80 })).rejects.toThrow(
      'no service port 80 found for service "webhook"',
    );
    const at = await deps.resolveService({ namespace: NS, name: 'webhook', port: 443 });
    expect(at).toEqual({ host: expect.stringMatching(/^127\./), port: 443 });
    const answer = await waitFor('the webhook pod to answer through its Service', async () => {
      const sock = connect(at);
      let text = '';
      sock.setEncoding('utf8').on('data', (d: string) => (text += d));
      const [err] = await Promise.race([
        once(sock, 'end').then(() => [undefined]),
        once(sock, 'error'),
      ]);
      sock.destroy();
      return err === undefined && text !== '' ? text : undefined;
    });
    expect(answer).toBe('hello from webhook-0');

    // The same pod through a NodePort Service: on the node's address, at the allocated node port.
    await cluster.clients.core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'webhook-np' },
        spec: {
          type: 'NodePort',
          selector: { app: 'webhook' },
          ports: [{ port: 443, targetPort: 8443 }],
        },
      },
    });
    const nodePort = await waitFor('a node port', async () => {
      const svc = await cluster.clients.core.readNamespacedService({
        name: 'webhook-np',
        namespace: NS,
      });
      return svc.spec?.ports?.[0]?.nodePort;
    });
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const node = await cluster.clients.core.readNode({ name: cluster.nodeName });
    const nodeIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    const viaNode = await waitFor('the pod to answer on the node port', async () => {
      const sock = connect({ host: nodeIP, port: nodePort });
      let text = '';
      sock.setEncoding('utf8').on('data', (d: string) => (text += d));
      const [err] = await Promise.race([
        once(sock, 'end').then(() => [undefined]),
        once(sock, 'error'),
      ]);
      sock.destroy();
      return err === undefined && text !== '' ? text : undefined;
    });
    expect(viaNode).toBe('hello from webhook-0');
    await cluster.clients.core.deleteNamespacedPod({ name: 'webhook-0', namespace: NS });
  });
});
