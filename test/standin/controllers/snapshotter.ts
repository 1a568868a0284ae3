// The snapshot controller and the driver's snapshotter in one: a
// VolumeSnapshot of a bound claim becomes a reflink copy in the store, a
// VolumeSnapshotContent and a ready status; deleting it removes the copy
// when its class says Delete.

import type {
  KubernetesListObject,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { VolumeStore } from '../storage/volumes.ts';
import { eventRecorder } from './events.ts';
import {
  describeError,
  isAlreadyExists,
  isNotFound,
  keyOf,
  mergePatch,
  splitKey,
  watchResource,
  workQueue,
  type Cache,
  type Clients,
  type Logger,
} from './kube.ts';
import { FINALIZER_SNAPSHOT_BOUND, SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './names.ts';
import type { Controller } from './provisioner.ts';
import { formatBytes } from './quantity.ts';
import {
  decideSnapshot,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from './snapshots.ts';

export interface SnapshotterOptions {
  clients: Clients;
  store: VolumeStore;
  log?: Logger;
  resyncMs?: number;
}

const base = { group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION };
const KIND = `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/VolumeSnapshot`;

export async function startSnapshotter(opts: SnapshotterOptions): Promise<Controller> {
  const { clients, store } = opts;
  const log = opts.log ?? ((m: string) => console.error(`[snapshotter] ${m}`));
  const events = eventRecorder(clients, 'snapshot-controller', log);
  /** What each snapshot we took needs at deletion: its content and whether the data goes. */
  const taken = new Map<string, { content: string; policy: 'Delete' | 'Retain' }>();
  const queue = workQueue(reconcile, log);

  const list =
    <T>(plural: string) =>
    () =>
      clients.custom.listClusterCustomObject({ ...base, plural }) as Promise<
        KubernetesListObject<T & VolumeSnapshot>
      >;
  const snapshots: Cache<VolumeSnapshot> = await watchResource(
    clients.kc,
    `/apis/${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/volumesnapshots`,
    list<VolumeSnapshot>('volumesnapshots'),
    (o) => queue.add(keyOf(o)),
    log,
  );
  const classes: Cache<VolumeSnapshotClass> = await watchResource(
    clients.kc,
    `/apis/${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/volumesnapshotclasses`,
    list<VolumeSnapshotClass>('volumesnapshotclasses') as () => Promise<
      KubernetesListObject<VolumeSnapshotClass>
    >,
    () => undefined,
    log,
  );
  const pvcs: Cache<V1PersistentVolumeClaim> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumeclaims',
    () => clients.core.listPersistentVolumeClaimForAllNamespaces(),
    () => undefined,
    log,
  );
  const pvs: Cache<V1PersistentVolume> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumes',
    () => clients.core.listPersistentVolume(),
    () => undefined,
    log,
  );
  const storageClasses: Cache<V1StorageClass> = await watchResource(
    clients.kc,
    '/apis/storage.k8s.io/v1/storageclasses',
    () => clients.storage.listStorageClass(),
    () => undefined,
    log,
  );
  const resync = setInterval(() => {
    for (const vs of snapshots.list())
      if (!vs.status?.readyToUse || vs.metadata?.deletionTimestamp) queue.add(keyOf(vs));
    for (const key of taken.keys()) queue.add(key);
  }, opts.resyncMs ?? 1_000);

  async function patchStatus(namespace: string, name: string, status: object): Promise<void> {
    await clients.custom.patchNamespacedCustomObjectStatus(
      { ...base, plural: 'volumesnapshots', namespace, name, body: { status } },
      mergePatch,
    );
  }

  async function removeData(key: string): Promise<void> {
    const t = taken.get(key);
    if (t === undefined) return;
    if (t.policy === 'Delete') await store.deleteSnapshot(t.content);
    await clients.custom
      .deleteClusterCustomObject({ ...base, plural: 'volumesnapshotcontents', name: t.content })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    taken.delete(key);
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const vs = snapshots.get(name, namespace);
    if (vs === undefined) return removeData(key);
    if (vs.metadata?.deletionTimestamp) {
      await removeData(key);
      const fins = vs.metadata.finalizers ?? [];
      if (fins.includes(FINALIZER_SNAPSHOT_BOUND)) {
        await clients.custom
          .patchNamespacedCustomObject(
            {
              ...base,
              plural: 'volumesnapshots',
              namespace,
              name,
              body: {
                metadata: { finalizers: fins.filter((f) => f !== FINALIZER_SNAPSHOT_BOUND) },
              },
            },
            mergePatch,
          )
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
      }
      return;
    }
    const claim = vs.spec?.source?.persistentVolumeClaimName;
    const pvc = claim === undefined ? undefined : pvcs.get(claim, namespace);
    const pv = pvc?.spec?.volumeName ? pvs.get(pvc.spec.volumeName) : undefined;
    const decision = decideSnapshot({
      vs,
      classes: classes.list(),
      pvc,
      pv,
      storageClass: pv?.spec?.storageClassName
        ? storageClasses.get(pv.spec.storageClassName)
        : undefined,
    });
    if (decision.action === 'none') return;
    if (decision.action === 'error') {
      if (vs.status?.error?.message !== decision.message) {
        await patchStatus(namespace, name, {
          readyToUse: false,
          error: { time: new Date().toISOString(), message: decision.message },
        });
        await events.record(vs, KIND, 'Warning', 'SnapshotCreationFailed', decision.message);
      }
      return;
    }
    const vol = store.get(decision.pvName);
    if (vol === undefined)
      throw new Error(`volume ${decision.pvName} is not in the stand-in's storage`);
    const snap =
      store.getSnapshot(decision.contentName) ?? (await store.snapshot(vol, decision.contentName));
    taken.set(key, { content: decision.contentName, policy: decision.deletionPolicy });
    const content: VolumeSnapshotContent = {
      apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
      kind: 'VolumeSnapshotContent',
      metadata: { name: decision.contentName },
      spec: {
        volumeSnapshotRef: {
          kind: 'VolumeSnapshot',
          apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
          namespace,
          name,
          uid: vs.metadata?.uid,
        },
        source: { volumeHandle: decision.pvName },
        driver: decision.driver,
        deletionPolicy: decision.deletionPolicy,
        volumeSnapshotClassName: decision.className,
        sourceVolumeMode: vol.mode,
      },
    };
    try {
      await clients.custom.createClusterCustomObject({
        ...base,
        plural: 'volumesnapshotcontents',
        body: content,
      });
    } catch (err) {
      // An API without VolumeSnapshotContents still gets working snapshots.
      if (!isAlreadyExists(err) && !isNotFound(err)) throw err;
      if (isNotFound(err)) log(`volumesnapshotcontents not served: ${describeError(err)}`);
    }
    await clients.custom
      .patchClusterCustomObjectStatus(
        {
          ...base,
          plural: 'volumesnapshotcontents',
          name: decision.contentName,
          body: {
            status: {
              snapshotHandle: snap.id,
              creationTime: snap.createdAt.getTime() * 1e6,
              readyToUse: true,
              restoreSize: snap.sizeBytes,
            },
          },
        },
        mergePatch,
      )
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    await patchStatus(namespace, name, {
      boundVolumeSnapshotContentName: decision.contentName,
      creationTime: snap.createdAt.toISOString(),
      readyToUse: true,
      restoreSize: formatBytes(snap.sizeBytes),
      error: null,
    });
  }

  for (const vs of snapshots.list()) queue.add(keyOf(vs));
  return {
    idle: () => queue.idle(),
    async stop() {
      clearInterval(resync);
      await queue.stop();
      await Promise.all([snapshots, classes, pvcs, pvs, storageClasses].map((c) => c.stop()));
    },
  };
}
