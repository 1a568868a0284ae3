// VolumeSnapshot types (the CRDs are not in the client's models) and the
// snapshot controller's pure decisions.

import type {
  KubernetesObject,
  V1ObjectReference,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import { ANN_DEFAULT_SNAPSHOT_CLASS, ANN_PROVISIONED_BY } from './names.ts';
import { capabilities } from './provisioning.ts';

export interface VolumeSnapshot extends KubernetesObject {
  spec?: {
    source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { time?: string; message?: string };
  };
}

export interface VolumeSnapshotClass extends KubernetesObject {
  driver?: string;
  deletionPolicy?: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export interface VolumeSnapshotContent extends KubernetesObject {
  spec?: {
    volumeSnapshotRef?: V1ObjectReference;
    source?: { volumeHandle?: string; snapshotHandle?: string };
    driver?: string;
    deletionPolicy?: 'Delete' | 'Retain';
    volumeSnapshotClassName?: string;
    sourceVolumeMode?: string;
  };
  status?: {
    snapshotHandle?: string;
    creationTime?: number;
    readyToUse?: boolean;
    restoreSize?: number;
  };
}

export const contentNameFor = (vs: VolumeSnapshot): string =>
  `snapcontent-${vs.metadata?.uid ?? ''}`;

export type SnapshotDecision =
  | { action: 'none' }
  /** Not yet possible (e.g. the claim is not bound): say so in status.error and look again later. */
  | { action: 'error'; message: string; retry: boolean }
  | {
      action: 'create';
      contentName: string;
      pvName: string;
      className: string;
      deletionPolicy: 'Delete' | 'Retain';
      driver: string;
    };

export interface SnapshotInputs {
  vs: VolumeSnapshot;
  classes: readonly VolumeSnapshotClass[];
  pvc?: V1PersistentVolumeClaim;
  pv?: V1PersistentVolume;
  storageClass?: V1StorageClass;
}

/** The class a snapshot uses: the named one, else the one default class for the volume's driver. */
export function pickClass(
  vs: VolumeSnapshot,
  classes: readonly VolumeSnapshotClass[],
  driver: string | undefined,
): VolumeSnapshotClass | string {
  const named = vs.spec?.volumeSnapshotClassName;
  if (named) {
    return (
      classes.find((c) => c.metadata?.name === named) ??
      `volumesnapshotclass.snapshot.storage.k8s.io "${named}" not found`
    );
  }
  const defaults = classes.filter(
    (c) =>
      c.metadata?.annotations?.[ANN_DEFAULT_SNAPSHOT_CLASS] === 'true' &&
      (driver === undefined || c.driver === driver),
  );
  if (defaults.length === 1) return defaults[0] as VolumeSnapshotClass;
  if (defaults.length === 0)
    return `cannot find default snapshot class for driver ${driver ?? '(unknown)'}`;
  return `default snapshot class: too many default classes for driver ${driver ?? '(unknown)'}`;
}

export function decideSnapshot(inp: SnapshotInputs): SnapshotDecision {
  const { vs } = inp;
  if (vs.status?.readyToUse === true || vs.status?.boundVolumeSnapshotContentName)
    return { action: 'none' };
  const src = vs.spec?.source;
  if (src?.volumeSnapshotContentName) {
    return {
      action: 'error',
      retry: false,
      message:
        'pre-provisioned snapshots (source.volumeSnapshotContentName) are not supported by the stand-in',
    };
  }
  const claim = src?.persistentVolumeClaimName;
  if (!claim)
    return {
      action: 'error',
      retry: false,
      message: 'spec.source.persistentVolumeClaimName is required',
    };
  const ns = vs.metadata?.namespace ?? '';
  if (inp.pvc === undefined) {
    return {
      action: 'error',
      retry: true,
      message: `failed to get input parameters to create snapshot ${vs.metadata?.name}: persistentvolumeclaims "${claim}" not found in namespace ${ns}`,
    };
  }
  if (inp.pvc.status?.phase !== 'Bound' || inp.pv === undefined) {
    return {
      action: 'error',
      retry: true,
      message: `the PVC ${claim} is not yet bound to a PV, will not attempt to take a snapshot`,
    };
  }
  const driver = inp.pv.metadata?.annotations?.[ANN_PROVISIONED_BY];
  const cls = pickClass(vs, inp.classes, driver);
  if (typeof cls === 'string')
    return {
      action: 'error',
      retry: true,
      message: `failed to get input parameters to create snapshot ${vs.metadata?.name}: ${cls}`,
    };
  if (cls.driver !== driver) {
    return {
      action: 'error',
      retry: false,
      message: `the volume ${inp.pv.metadata?.name} of driver ${driver ?? '(none)'} cannot be snapshotted by class ${cls.metadata?.name} of driver ${cls.driver}`,
    };
  }
  if (inp.storageClass !== undefined && !capabilities(inp.storageClass).snapshot) {
    return {
      action: 'error',
      retry: false,
      message: `failed to take snapshot of the volume ${inp.pv.metadata?.name}: the driver of StorageClass "${inp.storageClass.metadata?.name}" does not support snapshots`,
    };
  }
  return {
    action: 'create',
    contentName: contentNameFor(vs),
    pvName: inp.pv.metadata?.name ?? '',
    className: cls.metadata?.name ?? '',
    deletionPolicy: cls.deletionPolicy ?? 'Delete',
    driver: cls.driver ?? '',
  };
}
