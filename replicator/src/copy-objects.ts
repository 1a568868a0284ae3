// Pure builders for a destination's read-only copy: the staging claim a scrub
// step works on, the scrub Job, the snapshot of its result, and the claim
// readers mount. No I/O here.
import type {
  V1Job,
  V1PersistentVolumeClaim,
  V1PodSecurityContext,
  V1SecurityContext,
} from '@kubernetes/client-node';
import {
  components,
  volumeModeOf,
  type ReadOnlyCopySpec,
  type ScrubSpec,
} from '../../model/src/index.ts';
import { labelsFor, objectName, syncIdLabel } from './naming.ts';
import { claimJob, ownerRef, type VolumeSnapshot } from './objects.ts';

/** Where the scrub container sees the copy. */
export const scrubVolumePath = '/data';
export const scrubDevicePath = '/dev/scribe-volume';

export function stagingName(destination: string, syncId: string): string {
  return objectName('scribe-scrub', destination, syncId);
}
export function scrubbedName(destination: string, syncId: string): string {
  return objectName('scribe-scrubbed', destination, syncId);
}

function capacityOf(pvc: V1PersistentVolumeClaim, restoreSize?: string): string {
  return (
    restoreSize ??
    pvc.status?.capacity?.['storage'] ??
    pvc.spec?.resources?.requests?.['storage'] ??
    '1Gi'
  ).toString();
}

/** A claim of the destination's data restored from `snapshot`, for one component. */
function restoredClaim(
  destination: V1PersistentVolumeClaim,
  o: {
    name: string;
    component: string;
    syncId: string;
    snapshot: string;
    accessMode: string;
    storageClass?: string;
    restoreSize?: string;
  },
): V1PersistentVolumeClaim {
  const dest = destination.metadata?.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: o.name,
      namespace: destination.metadata?.namespace,
      labels: { ...labelsFor(dest, o.component), [syncIdLabel]: o.syncId },
      ownerReferences: [ownerRef(destination)],
    },
    spec: {
      accessModes: [o.accessMode],
      volumeMode: volumeModeOf(destination),
      storageClassName: o.storageClass ?? destination.spec?.storageClassName,
      resources: { requests: { storage: capacityOf(destination, o.restoreSize) } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: o.snapshot },
    },
  };
}

/** The claim the scrub step rewrites: the history snapshot restored read-write. */
export function stagingClaim(
  destination: V1PersistentVolumeClaim,
  copy: ReadOnlyCopySpec,
  history: { name: string; syncId: string; restoreSize?: string },
): V1PersistentVolumeClaim {
  return restoredClaim(destination, {
    name: stagingName(destination.metadata?.name ?? '', history.syncId),
    component: components.staging,
    syncId: history.syncId,
    snapshot: history.name,
    accessMode: 'ReadWriteOnce',
    storageClass: copy.storageClass,
    restoreSize: history.restoreSize,
  });
}

/** The claim readers mount, restored from a history snapshot or a scrubbed one. */
export function exposedClaim(
  destination: V1PersistentVolumeClaim,
  copy: ReadOnlyCopySpec,
  from: { snapshot: string; syncId: string; restoreSize?: string },
): V1PersistentVolumeClaim {
  return restoredClaim(destination, {
    name: copy.name,
    component: components.exposed,
    syncId: from.syncId,
    snapshot: from.snapshot,
    accessMode: copy.accessMode,
    storageClass: copy.storageClass,
    restoreSize: from.restoreSize,
  });
}

/** The snapshot of a scrubbed staging claim: the only data a scrubbed copy is restored from. */
export function scrubbedSnapshot(
  destination: V1PersistentVolumeClaim,
  syncId: string,
  snapshotClass?: string,
): VolumeSnapshot {
  const dest = destination.metadata?.name ?? '';
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: scrubbedName(dest, syncId),
      namespace: destination.metadata?.namespace,
      labels: { ...labelsFor(dest, components.scrubbed), [syncIdLabel]: syncId },
      ownerReferences: [ownerRef(destination)],
    },
    spec: {
      source: { persistentVolumeClaimName: stagingName(dest, syncId) },
      ...(snapshotClass ? { volumeSnapshotClassName: snapshotClass } : {}),
    },
  };
}

/**
 * The user's scrub container may rewrite any file of the copy and nothing
 * else. With `runAsUser` it runs as that UID with no capabilities at all
 * (runAsNonRoot). Without, as root (a replica keeps the application's owners
 * and modes, which a non-root UID usually cannot change) with only the
 * capabilities that file rewriting needs, as the receiver has.
 */
export function scrubSecurity(scrub: ScrubSpec): {
  pod: V1PodSecurityContext;
  container: V1SecurityContext;
} {
  const common: V1SecurityContext = {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (scrub.runAsUser !== undefined) {
    return {
      // No fsGroup: it would chown the whole copy, changing its data.
      pod: { runAsNonRoot: true, runAsUser: scrub.runAsUser, runAsGroup: scrub.runAsUser },
      container: { ...common, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    };
  }
  return {
    pod: { runAsNonRoot: false, runAsUser: 0 },
    container: {
      ...common,
      runAsNonRoot: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'] },
    },
  };
}

/** The Job that runs the user's scrub command on the staging claim, read-write, within its timeout. */
export function scrubJob(
  destination: V1PersistentVolumeClaim,
  scrub: ScrubSpec,
  syncId: string,
): V1Job {
  const dest = destination.metadata?.name ?? '';
  const name = stagingName(dest, syncId);
  const block = volumeModeOf(destination) === 'Block';
  const security = scrubSecurity(scrub);
  const job = claimJob(destination, name, components.scrub, syncId, {
    container: {
      name: 'scrub',
      image: scrub.image,
      // The user's argv as given: Scribe never builds a shell line from it.
      command: scrub.command,
      env: [
        { name: 'SCRIBE_VOLUME', value: block ? scrubDevicePath : scrubVolumePath },
        { name: 'TMPDIR', value: '/tmp' },
      ],
      securityContext: security.container,
      resources: { requests: { cpu: '100m', memory: '128Mi' } },
      ...(block ? { volumeDevices: [{ name: 'volume', devicePath: scrubDevicePath }] } : {}),
      volumeMounts: [
        ...(block ? [] : [{ name: 'volume', mountPath: scrubVolumePath }]),
        { name: 'tmp', mountPath: '/tmp' },
      ],
    },
    volumes: [
      { name: 'volume', persistentVolumeClaim: { claimName: name } },
      { name: 'tmp', emptyDir: {} },
    ],
  });
  // A failed scrub is retried on the next sync's snapshot (claimJob: no retries), within its timeout.
  job.spec!.activeDeadlineSeconds = scrub.timeoutSeconds;
  job.spec!.template.spec!.securityContext = security.pod;
  return job;
}
