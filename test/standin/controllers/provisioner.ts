// The provisioner and PV binder: Pending claims of the stand-in's classes get
// a real volume (store), a PersistentVolume that says where the data is, and
// are bound both ways like kube-controller-manager's binder does; released
// volumes are reclaimed; deleted claims lose their protection finalizer once
// no running pod uses them.

import type {
  KubernetesListObject,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { Volume, VolumeStore } from '../storage/volumes.ts';
import { eventRecorder } from './events.ts';
import {
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
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_STORAGE_PROVISIONER,
  DRIVER,
  FINALIZER_PROVISIONER,
  FINALIZER_PVC_PROTECTION,
  FINALIZER_PV_PROTECTION,
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
} from './names.ts';
import {
  buildPersistentVolume,
  claimBindPatch,
  claimBoundStatus,
  decideClaim,
  decideVolume,
  pvNameFor,
  type SnapshotSourceInfo,
  type VolumeSource,
} from './provisioning.ts';
import { parseQuantity } from './quantity.ts';
import type { VolumeSnapshot } from './snapshots.ts';

export interface ProvisionerOptions {
  clients: Clients;
  store: VolumeStore;
  nodeName: string;
  log?: Logger;
  /** How often every unbound claim and every volume is looked at again (default 1 s). */
  resyncMs?: number;
  /** The snapshot API is served (default true); without it no claim restores a snapshot. */
  snapshotApi?: boolean;
}

/** What the provisioner sees of VolumeSnapshots on a cluster without the snapshot CRDs. */
const noSnapshots: Cache<VolumeSnapshot> = {
  get: () => undefined,
  list: () => [],
  stop: async () => undefined,
};

const ignoreNotFound = (err: unknown): void => {
  if (!isNotFound(err)) throw err;
};

export interface Controller {
  /** Resolves when the work queue is empty (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** A pod keeps its claims in use until it has finished (pods without a node never used them). */
export function podUsesClaim(pod: V1Pod, namespace: string, claim: string): boolean {
  if (pod.metadata?.namespace !== namespace || !pod.spec?.nodeName) return false;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  return (pod.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim);
}

export async function startProvisioner(opts: ProvisionerOptions): Promise<Controller> {
  const { clients, store, nodeName } = opts;
  const log = opts.log ?? ((m: string) => console.error(`[provisioner] ${m}`));
  const events = eventRecorder(clients, `${DRIVER}_${nodeName}`, log);
  const queue = workQueue(reconcile, log);
  const enqueueClaim = (o: V1PersistentVolumeClaim): void => queue.add(`pvc:${keyOf(o)}`);
  const enqueueVolume = (o: V1PersistentVolume): void => queue.add(`pv:${o.metadata?.name ?? ''}`);

  const pvcs: Cache<V1PersistentVolumeClaim> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumeclaims',
    () => clients.core.listPersistentVolumeClaimForAllNamespaces(),
    (o) => {
      enqueueClaim(o);
      // A claim's change can release or bind a volume.
      if (o.spec?.volumeName) queue.add(`pv:${o.spec.volumeName}`);
      const pvName = pvNameFor(o);
      queue.add(`pv:${pvName}`);
    },
    log,
  );
  const pvs: Cache<V1PersistentVolume> = await watchResource(
    clients.kc,
    '/api/v1/persistentvolumes',
    () => clients.core.listPersistentVolume(),
    (o) => {
      enqueueVolume(o);
      const ref = o.spec?.claimRef;
      if (ref?.namespace && ref.name) queue.add(`pvc:${ref.namespace}/${ref.name}`);
    },
    log,
  );
  const classes: Cache<V1StorageClass> = await watchResource(
    clients.kc,
    '/apis/storage.k8s.io/v1/storageclasses',
    () => clients.storage.listStorageClass(),
    () => undefined,
    log,
  );
  const snapshots: Cache<VolumeSnapshot> =
    opts.snapshotApi === false
      ? noSnapshots
      : await watchResource(
          clients.kc,
          `/apis/${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/volumesnapshots`,
          () =>
            clients.custom.listClusterCustomObject({
              group: SNAPSHOT_GROUP,
              version: SNAPSHOT_VERSION,
              plural: 'volumesnapshots',
            }) as Promise<KubernetesListObject<VolumeSnapshot>>,
          () => undefined,
          log,
        );
  const pods: Cache<V1Pod> = await watchResource(
    clients.kc,
    '/api/v1/pods',
    () => clients.core.listPodForAllNamespaces(),
    (pod) => {
      for (const v of pod.spec?.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim !== undefined) queue.add(`pvc:${pod.metadata?.namespace ?? ''}/${claim}`);
      }
    },
    log,
  );

  const resync = setInterval(() => {
    for (const c of pvcs.list())
      if (c.status?.phase !== 'Bound' || c.metadata?.deletionTimestamp) enqueueClaim(c);
    for (const v of pvs.list()) enqueueVolume(v);
  }, opts.resyncMs ?? 1_000);

  function snapshotInfo(namespace: string, name: string): SnapshotSourceInfo | undefined {
    const vs = snapshots.get(name, namespace);
    if (vs === undefined) return undefined;
    const content = vs.status?.boundVolumeSnapshotContentName;
    const snap = content === undefined ? undefined : store.getSnapshot(content);
    return {
      readyToUse: vs.status?.readyToUse === true,
      snapshotHandle: snap?.id,
      restoreSizeBytes:
        vs.status?.restoreSize === undefined ? undefined : parseQuantity(vs.status.restoreSize),
      driver: snap === undefined ? undefined : DRIVER,
    };
  }

  async function materialize(
    pvName: string,
    mode: 'Filesystem' | 'Block',
    sizeBytes: number,
    source: VolumeSource,
  ): Promise<Volume> {
    const existing = store.get(pvName);
    if (existing !== undefined) return existing; // made on an earlier try whose PV create failed
    if (source.kind === 'clone') {
      const src = store.get(source.pvName);
      if (src === undefined)
        throw new Error(`source volume ${source.pvName} is not in the stand-in's storage`);
      return store.clone(src, pvName, sizeBytes);
    }
    if (source.kind === 'snapshot') {
      const snap = store.getSnapshot(source.snapshotHandle);
      if (snap === undefined)
        throw new Error(`snapshot ${source.snapshotHandle} is not in the stand-in's storage`);
      return store.restore(snap, pvName, sizeBytes);
    }
    return store.create(pvName, mode, sizeBytes);
  }

  async function bind(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume): Promise<void> {
    const namespace = pvc.metadata?.namespace ?? '';
    const name = pvc.metadata?.name ?? '';
    const pvName = pv.metadata?.name ?? '';
    if (pv.spec?.claimRef === undefined) {
      // A pre-provisioned volume named by the claim: reserve it first.
      await clients.core.patchPersistentVolume(
        {
          name: pvName,
          body: {
            spec: {
              claimRef: {
                kind: 'PersistentVolumeClaim',
                apiVersion: 'v1',
                namespace,
                name,
                uid: pvc.metadata?.uid,
              },
            },
          },
        },
        mergePatch,
      );
    }
    await clients.core.patchPersistentVolumeStatus(
      { name: pvName, body: { status: { phase: 'Bound' } } },
      mergePatch,
    );
    const patch = claimBindPatch(pv) as { metadata: { annotations: Record<string, string> } };
    const sc = pvc.spec?.storageClassName ? classes.get(pvc.spec.storageClassName) : undefined;
    if (sc?.provisioner === DRIVER) {
      patch.metadata.annotations[ANN_STORAGE_PROVISIONER] = DRIVER;
      patch.metadata.annotations[ANN_BETA_STORAGE_PROVISIONER] = DRIVER;
    }
    await clients.core.patchNamespacedPersistentVolumeClaim(
      { name, namespace, body: patch },
      mergePatch,
    );
    await clients.core.patchNamespacedPersistentVolumeClaimStatus(
      { name, namespace, body: claimBoundStatus(pv) },
      mergePatch,
    );
  }

  async function reconcileClaim(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pvc = pvcs.get(name, namespace);
    if (pvc === undefined) return;
    if (pvc.metadata?.deletionTimestamp) {
      const fins = pvc.metadata.finalizers ?? [];
      const inUse = pods.list(namespace).some((p) => podUsesClaim(p, namespace, name));
      if (fins.includes(FINALIZER_PVC_PROTECTION) && !inUse) {
        await clients.core
          .patchNamespacedPersistentVolumeClaim(
            {
              name,
              namespace,
              body: {
                metadata: {
                  resourceVersion: pvc.metadata.resourceVersion,
                  finalizers: fins.filter((f) => f !== FINALIZER_PVC_PROTECTION),
                },
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
    const ds = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
    const sourcePvc =
      ds?.kind === 'PersistentVolumeClaim' ? pvcs.get(ds.name, namespace) : undefined;
    const consumer = pods
      .list(namespace)
      .find((p) =>
        (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name),
      );
    const decision = decideClaim({
      pvc,
      storageClass: pvc.spec?.storageClassName ? classes.get(pvc.spec.storageClassName) : undefined,
      pv: pvs.get(pvc.spec?.volumeName || pvNameFor(pvc)),
      sourcePvc,
      sourcePv: sourcePvc?.spec?.volumeName ? pvs.get(sourcePvc.spec.volumeName) : undefined,
      sourceSnapshot: ds?.kind === 'VolumeSnapshot' ? snapshotInfo(namespace, ds.name) : undefined,
      consumerNode: consumer === undefined ? undefined : nodeName,
    });
    switch (decision.action) {
      case 'ignore':
        return;
      case 'wait':
        if (decision.event)
          await events.record(
            pvc,
            'PersistentVolumeClaim',
            'Normal',
            decision.event.reason,
            decision.event.message,
          );
        return;
      case 'fail':
        await events.record(
          pvc,
          'PersistentVolumeClaim',
          'Warning',
          decision.reason,
          decision.message,
        );
        return;
      case 'bind':
        await bind(pvc, decision.pv);
        return;
      case 'provision': {
        const sc = classes.get(pvc.spec?.storageClassName ?? '') as V1StorageClass;
        await events.record(
          pvc,
          'PersistentVolumeClaim',
          'Normal',
          'Provisioning',
          `External provisioner is provisioning volume for claim "${namespace}/${name}"`,
        );
        let vol: Volume;
        try {
          vol = await materialize(
            decision.pvName,
            decision.mode,
            decision.sizeBytes,
            decision.source,
          );
        } catch (err) {
          await events.record(
            pvc,
            'PersistentVolumeClaim',
            'Warning',
            'ProvisioningFailed',
            `failed to provision volume with StorageClass "${sc.metadata?.name}": ${(err as Error).message}`,
          );
          throw err;
        }
        const body = buildPersistentVolume(pvc, sc, decision.pvName, {
          path: vol.path,
          node: nodeName,
          sizeBytes: vol.sizeBytes,
          mode: vol.mode,
        });
        let pv: V1PersistentVolume;
        try {
          pv = await clients.core.createPersistentVolume({ body });
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          pv = await clients.core.readPersistentVolume({ name: decision.pvName });
        }
        await events.record(
          pvc,
          'PersistentVolumeClaim',
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${decision.pvName}`,
        );
        await bind(pvc, pv);
        return;
      }
    }
  }

  async function reconcileVolume(name: string): Promise<void> {
    const pv = pvs.get(name);
    if (pv === undefined) return;
    const ref = pv.spec?.claimRef;
    const claim = ref?.namespace && ref.name ? pvcs.get(ref.name, ref.namespace) : undefined;
    const decision = decideVolume(pv, claim);
    if (decision.action === 'phase') {
      await clients.core.patchPersistentVolumeStatus(
        { name, body: { status: { phase: decision.phase } } },
        mergePatch,
      );
    } else if (decision.action === 'reclaim') {
      await store.delete(name);
      if (pv.status?.phase !== 'Released') {
        await clients.core
          .patchPersistentVolumeStatus(
            { name, body: { status: { phase: 'Released' } } },
            mergePatch,
          )
          .catch(ignoreNotFound);
      }
      await dropFinalizers(pv);
      await clients.core.deletePersistentVolume({ name }).catch(ignoreNotFound);
    } else if (decision.action === 'finalize') {
      if (decision.deleteData) await store.delete(name);
      await dropFinalizers(pv);
    }
  }

  /** Removes the finalizers of the provisioner and of pv-protection (the claim no longer uses the volume). */
  async function dropFinalizers(pv: V1PersistentVolume): Promise<void> {
    const fins = pv.metadata?.finalizers ?? [];
    const keep = fins.filter((f) => f !== FINALIZER_PROVISIONER && f !== FINALIZER_PV_PROTECTION);
    if (keep.length === fins.length) return;
    await clients.core
      .patchPersistentVolume(
        {
          name: pv.metadata?.name ?? '',
          body: { metadata: { resourceVersion: pv.metadata?.resourceVersion, finalizers: keep } },
        },
        mergePatch,
      )
      .catch(ignoreNotFound);
  }

  function reconcile(key: string): Promise<void> {
    return key.startsWith('pvc:') ? reconcileClaim(key.slice(4)) : reconcileVolume(key.slice(3));
  }

  for (const c of pvcs.list()) enqueueClaim(c);
  for (const v of pvs.list()) enqueueVolume(v);

  return {
    idle: () => queue.idle(),
    async stop() {
      clearInterval(resync);
      await queue.stop();
      await Promise.all([pvcs, pvs, classes, snapshots, pods].map((c) => c.stop()));
    },
  };
}
