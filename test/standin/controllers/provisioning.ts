// What the provisioner and the PV binder do with a claim or a volume: pure
// decisions from the objects as the informers see them. The controller
// (provisioner.ts) carries them out against the API and the volume store.

import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import {
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  DRIVER,
  FINALIZER_PROVISIONER,
  PARAM_CLONE,
  PARAM_SNAPSHOT,
  SNAPSHOT_GROUP,
} from './names.ts';
import { formatBytes, parseQuantity } from './quantity.ts';

export interface Capabilities {
  clone: boolean;
  snapshot: boolean;
}

export function capabilities(sc: V1StorageClass): Capabilities {
  const p = sc.parameters ?? {};
  return { clone: p[PARAM_CLONE] !== 'false', snapshot: p[PARAM_SNAPSHOT] !== 'false' };
}

export type VolumeSource =
  | { kind: 'empty' }
  | { kind: 'clone'; pvName: string }
  | { kind: 'snapshot'; snapshotHandle: string };

export type ClaimDecision =
  | { action: 'ignore'; why: string }
  | { action: 'wait'; why: string; event?: { reason: string; message: string } }
  | { action: 'fail'; reason: 'ProvisioningFailed'; message: string }
  | {
      action: 'provision';
      pvName: string;
      sizeBytes: number;
      mode: 'Filesystem' | 'Block';
      source: VolumeSource;
    }
  | { action: 'bind'; pv: V1PersistentVolume };

/** A VolumeSnapshot as far as provisioning needs it. */
export interface SnapshotSourceInfo {
  readyToUse: boolean;
  /** The snapshot's data in the store (VolumeSnapshotContent status.snapshotHandle). */
  snapshotHandle?: string;
  restoreSizeBytes?: number;
  /** The driver of the snapshot's content. */
  driver?: string;
}

export interface ClaimInputs {
  pvc: V1PersistentVolumeClaim;
  storageClass?: V1StorageClass;
  /** The PV named in spec.volumeName, or the one provisioned for this claim (pvc-UID). */
  pv?: V1PersistentVolume;
  sourcePvc?: V1PersistentVolumeClaim;
  sourcePv?: V1PersistentVolume;
  sourceSnapshot?: SnapshotSourceInfo;
  /** The node a pod using this claim is on, for WaitForFirstConsumer classes. */
  consumerNode?: string;
}

export const pvNameFor = (pvc: V1PersistentVolumeClaim): string => `pvc-${pvc.metadata?.uid ?? ''}`;

export function requestedBytes(pvc: V1PersistentVolumeClaim): number {
  const q = pvc.spec?.resources?.requests?.storage;
  return q === undefined ? 0 : parseQuantity(q);
}

const failed = (sc: string, why: string): ClaimDecision => ({
  action: 'fail',
  reason: 'ProvisioningFailed',
  message: `failed to provision volume with StorageClass "${sc}": ${why}`,
});

/** A PV is bindable to a claim when it is free or already claimed by exactly this claim. */
function claimedBy(pv: V1PersistentVolume, pvc: V1PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  return (
    ref !== undefined &&
    ref.name === pvc.metadata?.name &&
    ref.namespace === pvc.metadata?.namespace &&
    (ref.uid === undefined || ref.uid === pvc.metadata?.uid)
  );
}

export function decideClaim(inp: ClaimInputs): ClaimDecision {
  const { pvc } = inp;
  if (pvc.metadata?.deletionTimestamp) return { action: 'ignore', why: 'being deleted' };
  const bound =
    pvc.metadata?.annotations?.[ANN_BIND_COMPLETED] === 'yes' && pvc.status?.phase === 'Bound';
  if (bound) return { action: 'ignore', why: 'bound' };

  // A volume exists for the claim (we provisioned it, or it was named): finish binding.
  if (inp.pv !== undefined) {
    if (inp.pv.metadata?.deletionTimestamp)
      return { action: 'wait', why: `volume ${inp.pv.metadata.name} is being deleted` };
    if (inp.pv.spec?.claimRef === undefined || claimedBy(inp.pv, pvc))
      return { action: 'bind', pv: inp.pv };
    return { action: 'wait', why: `volume ${inp.pv.metadata?.name} is bound to another claim` };
  }
  if (pvc.spec?.volumeName)
    return { action: 'wait', why: `volume ${pvc.spec.volumeName} does not exist` };

  const scName = pvc.spec?.storageClassName;
  if (!scName) return { action: 'ignore', why: 'no storage class' };
  const sc = inp.storageClass;
  if (sc === undefined)
    return { action: 'wait', why: `storageclass.storage.k8s.io "${scName}" not found` };
  if (sc.provisioner !== DRIVER) return { action: 'ignore', why: `provisioner ${sc.provisioner}` };

  if (
    sc.volumeBindingMode === 'WaitForFirstConsumer' &&
    inp.consumerNode === undefined &&
    pvc.metadata?.annotations?.[ANN_SELECTED_NODE] === undefined
  ) {
    return {
      action: 'wait',
      why: 'no consumer yet',
      event: {
        reason: 'WaitForFirstConsumer',
        message: 'waiting for first consumer to be created before binding',
      },
    };
  }

  const mode = pvc.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem';
  let sizeBytes = requestedBytes(pvc);
  if (sizeBytes <= 0)
    return failed(scName, 'claim requests no storage (spec.resources.requests.storage)');
  const caps = capabilities(sc);
  const ds = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  let source: VolumeSource = { kind: 'empty' };

  if (ds !== undefined) {
    const group = ds.apiGroup ?? '';
    if (ds.kind === 'PersistentVolumeClaim' && group === '') {
      if (!caps.clone)
        return failed(
          scName,
          `the driver of StorageClass "${scName}" does not support cloning (dataSource PersistentVolumeClaim "${ds.name}")`,
        );
      const src = inp.sourcePvc;
      if (src === undefined)
        return failed(
          scName,
          `error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: persistentvolumeclaims "${ds.name}" not found`,
        );
      if (src.status?.phase !== 'Bound' || inp.sourcePv === undefined) {
        return failed(
          scName,
          `error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: the PVC ${ds.name} is not yet bound to a PV`,
        );
      }
      if ((src.spec?.storageClassName ?? '') !== scName) {
        return failed(
          scName,
          `error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: the source PVC and destination PVCs must be in the same storage class for cloning. Source is in ${src.spec?.storageClassName ?? '""'}, but new PVC is in ${scName}`,
        );
      }
      const srcMode = src.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem';
      if (srcMode !== mode)
        return failed(
          scName,
          `error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: the source PVC and destination PVCs must have the same volume mode for cloning. Source is ${srcMode}. Requested PVC is ${mode}`,
        );
      const srcBytes = parseQuantity(inp.sourcePv.spec?.capacity?.storage ?? '0');
      if (sizeBytes < srcBytes)
        return failed(
          scName,
          `error getting handle for DataSource Type PersistentVolumeClaim by Name ${ds.name}: requested PV size is smaller than the source: ${formatBytes(sizeBytes)} < ${formatBytes(srcBytes)}`,
        );
      source = { kind: 'clone', pvName: inp.sourcePv.metadata?.name ?? '' };
    } else if (ds.kind === 'VolumeSnapshot' && group === SNAPSHOT_GROUP) {
      if (!caps.snapshot)
        return failed(
          scName,
          `the driver of StorageClass "${scName}" does not support restoring snapshots (dataSource VolumeSnapshot "${ds.name}")`,
        );
      const snap = inp.sourceSnapshot;
      if (snap === undefined)
        return failed(
          scName,
          `error getting handle for DataSource Type VolumeSnapshot by Name ${ds.name}: error getting snapshot ${ds.name} from api server: volumesnapshots.snapshot.storage.k8s.io "${ds.name}" not found`,
        );
      if (!snap.readyToUse || snap.snapshotHandle === undefined) {
        return failed(
          scName,
          `error getting handle for DataSource Type VolumeSnapshot by Name ${ds.name}: snapshot ${ds.name} is not Ready`,
        );
      }
      if (snap.driver !== undefined && snap.driver !== DRIVER)
        return failed(
          scName,
          `error getting handle for DataSource Type VolumeSnapshot by Name ${ds.name}: snapshot of driver ${snap.driver} cannot be restored by ${DRIVER}`,
        );
      if (snap.restoreSizeBytes !== undefined && sizeBytes < snap.restoreSizeBytes) {
        return failed(
          scName,
          `requested volume size ${sizeBytes} is less than the size ${snap.restoreSizeBytes} for the source snapshot ${ds.name}`,
        );
      }
      source = { kind: 'snapshot', snapshotHandle: snap.snapshotHandle };
    } else {
      // Volume populators other than ours are someone else's job.
      return { action: 'ignore', why: `data source ${group}/${ds.kind} is not handled here` };
    }
  }
  sizeBytes = Math.max(sizeBytes, 1);
  return { action: 'provision', pvName: pvNameFor(pvc), sizeBytes, mode, source };
}

export interface PvPlacement {
  /** Where the data is: a directory, a device or an image file. */
  path: string;
  node: string;
  sizeBytes: number;
  mode: 'Filesystem' | 'Block';
}

/** The PersistentVolume a provisioned claim gets: a `local` source on the stand-in's node. */
export function buildPersistentVolume(
  pvc: V1PersistentVolumeClaim,
  sc: V1StorageClass,
  pvName: string,
  at: PvPlacement,
): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: pvName,
      annotations: { [ANN_PROVISIONED_BY]: DRIVER },
      finalizers: [FINALIZER_PROVISIONER],
    },
    spec: {
      capacity: { storage: formatBytes(at.sizeBytes) },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: at.mode,
      storageClassName: sc.metadata?.name,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      mountOptions: sc.mountOptions,
      claimRef: {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: pvc.metadata?.namespace,
        name: pvc.metadata?.name,
        uid: pvc.metadata?.uid,
        resourceVersion: pvc.metadata?.resourceVersion,
      },
      local: { path: at.path },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: [at.node] },
              ],
            },
          ],
        },
      },
    },
  };
}

/** The merge patch that binds a claim to its volume (spec.volumeName and the binder's annotations). */
export function claimBindPatch(pv: V1PersistentVolume): object {
  return {
    metadata: { annotations: { [ANN_BIND_COMPLETED]: 'yes', [ANN_BOUND_BY_CONTROLLER]: 'yes' } },
    spec: { volumeName: pv.metadata?.name },
  };
}

export function claimBoundStatus(pv: V1PersistentVolume): object {
  return {
    status: {
      phase: 'Bound',
      accessModes: pv.spec?.accessModes,
      capacity: { storage: pv.spec?.capacity?.storage },
    },
  };
}

export type VolumeDecision =
  | { action: 'none' }
  | { action: 'phase'; phase: 'Available' | 'Bound' | 'Released' }
  /** The claim is gone and the policy is Delete: remove the data, then the object. */
  | { action: 'reclaim' }
  /** The object is being deleted and no claim uses it: drop the finalizers (and the data, when ours). */
  | { action: 'finalize'; deleteData: boolean };

/** What becomes of a volume given its claim (undefined when the claim is gone). */
export function decideVolume(
  pv: V1PersistentVolume,
  claim: V1PersistentVolumeClaim | undefined,
): VolumeDecision {
  const ours = pv.metadata?.annotations?.[ANN_PROVISIONED_BY] === DRIVER;
  const phase = pv.status?.phase;
  const ref = pv.spec?.claimRef;
  const gone = claim === undefined || (ref?.uid !== undefined && claim.metadata?.uid !== ref.uid);
  const inUse = ref !== undefined && !gone && claim?.spec?.volumeName === pv.metadata?.name;
  if (pv.metadata?.deletionTimestamp) {
    // The pv-protection controller's rule: a volume bound to a live claim stays.
    if (inUse) return { action: 'none' };
    const deleteData = ours && (pv.metadata.finalizers ?? []).includes(FINALIZER_PROVISIONER);
    return (pv.metadata.finalizers ?? []).length > 0
      ? { action: 'finalize', deleteData }
      : { action: 'none' };
  }
  if (ref === undefined) {
    return phase === 'Available' ? { action: 'none' } : { action: 'phase', phase: 'Available' };
  }
  if (gone) {
    if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && ours) return { action: 'reclaim' };
    return phase === 'Released' ? { action: 'none' } : { action: 'phase', phase: 'Released' };
  }
  if (inUse) return phase === 'Bound' ? { action: 'none' } : { action: 'phase', phase: 'Bound' };
  return phase === 'Available' ? { action: 'none' } : { action: 'phase', phase: 'Available' };
}
