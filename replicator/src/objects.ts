// Pure builders for what the replicator creates in a cluster: point-in-time
// copies of a source PVC, the mover Jobs that send and receive, the endpoint
// Service and the destination snapshots. No I/O here.
import type {
  V1Container,
  V1Job,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1SecurityContext,
  V1Service,
  V1Volume,
} from '@kubernetes/client-node';
import { defaultTarget, volumeModeOf } from '../../model/src/index.ts';
import { labelsFor, objectName, syncIdLabel, syncObjectName, targetLabelsFor } from './naming.ts';

/** The VolumeSnapshot shape (snapshot.storage.k8s.io/v1); client-node has no model for CRDs. */
export interface VolumeSnapshot {
  apiVersion: 'snapshot.storage.k8s.io/v1';
  kind: 'VolumeSnapshot';
  metadata: V1PersistentVolumeClaim['metadata'];
  spec: { source: { persistentVolumeClaimName: string }; volumeSnapshotClassName?: string };
  status?: {
    readyToUse?: boolean;
    creationTime?: string;
    restoreSize?: string;
    error?: { message?: string };
  };
}

export const defaultImage = 'ghcr.io/backube/scribe:latest';
export const moverPort = 2222;
const keysPath = '/keys';
const volumePath = '/data';
const devicePath = '/dev/scribe-volume';

export function ownerRef(pvc: V1PersistentVolumeClaim): V1OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    name: pvc.metadata?.name ?? '',
    uid: pvc.metadata?.uid ?? '',
    // Deleting the PVC takes its copies and jobs along, never the other way.
    blockOwnerDeletion: false,
    controller: true,
  };
}

function claimName(pvc: V1PersistentVolumeClaim): string {
  return pvc.metadata?.name ?? '';
}

/** A clone of the source PVC (CSI volume cloning): the point-in-time copy for `clone`. */
export function cloneClaim(
  source: V1PersistentVolumeClaim,
  syncId: string,
  target: string = defaultTarget,
): V1PersistentVolumeClaim {
  const name = claimName(source);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: syncObjectName('clone', name, target, syncId),
      namespace: source.metadata?.namespace,
      labels: { ...targetLabelsFor(name, 'copy', target), [syncIdLabel]: syncId },
      ownerReferences: [ownerRef(source)],
    },
    spec: {
      accessModes: source.spec?.accessModes,
      volumeMode: volumeModeOf(source),
      storageClassName: source.spec?.storageClassName,
      resources: { requests: { storage: capacityOf(source) } },
      dataSource: { kind: 'PersistentVolumeClaim', name },
    },
  };
}

/** A VolumeSnapshot of a PVC: the point-in-time copy for `snapshot`, and a destination's history. */
export function snapshotOf(
  pvc: V1PersistentVolumeClaim,
  name: string,
  component: 'copy' | 'history',
  syncId: string,
  snapshotClass?: string,
  /** A source copy's target; a destination's history has none. */
  target?: string,
): VolumeSnapshot {
  const labels =
    target === undefined
      ? labelsFor(claimName(pvc), component)
      : targetLabelsFor(claimName(pvc), component, target);
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name,
      namespace: pvc.metadata?.namespace,
      labels: { ...labels, [syncIdLabel]: syncId },
      // A destination's history outlives the replication: no owner.
      ...(component === 'copy' ? { ownerReferences: [ownerRef(pvc)] } : {}),
    },
    spec: {
      source: { persistentVolumeClaimName: claimName(pvc) },
      ...(snapshotClass ? { volumeSnapshotClassName: snapshotClass } : {}),
    },
  };
}

/** A PVC restored from a snapshot of the source, for the mover to read. */
export function restoreClaim(
  source: V1PersistentVolumeClaim,
  snapshot: string,
  syncId: string,
  target: string = defaultTarget,
): V1PersistentVolumeClaim {
  const claim = cloneClaim(source, syncId, target);
  claim.metadata!.name = syncObjectName('restore', claimName(source), target, syncId);
  claim.spec!.dataSource = {
    apiGroup: 'snapshot.storage.k8s.io',
    kind: 'VolumeSnapshot',
    name: snapshot,
  };
  return claim;
}

function capacityOf(pvc: V1PersistentVolumeClaim): string {
  return (
    pvc.status?.capacity?.['storage'] ??
    pvc.spec?.resources?.requests?.['storage'] ??
    '1Gi'
  ).toString();
}

/**
 * Only what rsync needs: the sender reads every file whatever its mode; the
 * receiver also sets owners, modes and times. Nothing else, no escalation.
 * The sender gets DAC_OVERRIDE, not the narrower DAC_READ_SEARCH: the baseline
 * Pod Security Standard allows only the former, and the sender cannot write
 * anyway (read-only mount, read-only root filesystem).
 */
export function moverSecurityContext(role: 'send' | 'receive'): V1SecurityContext {
  return {
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: {
      drop: ['ALL'],
      add: role === 'send' ? ['DAC_OVERRIDE'] : ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'],
    },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export interface MoverOptions {
  image?: string;
  /** Secret holding the replication's keys (docs/architecture.md). */
  secret: string;
}

function moverVolumes(claim: string, secret: string, readOnly: boolean): V1Volume[] {
  return [
    { name: 'volume', persistentVolumeClaim: { claimName: claim, readOnly } },
    { name: 'keys', secret: { secretName: secret, defaultMode: 0o400 } },
    { name: 'tmp', emptyDir: {} },
  ];
}

function moverContainer(
  pvc: V1PersistentVolumeClaim,
  role: 'send' | 'receive',
  args: string[],
  image: string,
): V1Container {
  const block = volumeModeOf(pvc) === 'Block';
  return {
    name: 'mover',
    image,
    command: ['scribe-mover'],
    args: [role, '--volume', block ? devicePath : volumePath, ...args],
    env: [{ name: 'TMPDIR', value: '/tmp' }],
    securityContext: moverSecurityContext(role),
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    },
    ...(block ? { volumeDevices: [{ name: 'volume', devicePath }] } : {}),
    volumeMounts: [
      ...(block ? [] : [{ name: 'volume', mountPath: volumePath, readOnly: role === 'send' }]),
      { name: 'keys', mountPath: keysPath, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** The Job that sends one sync from a copy (clone, restore) of the source. */
export function senderJob(
  source: V1PersistentVolumeClaim,
  copyClaim: string,
  endpoint: string,
  syncId: string,
  o: MoverOptions & { checksum: boolean; target?: string },
): V1Job {
  const name = claimName(source);
  const target = o.target ?? defaultTarget;
  const args = [
    '--to',
    endpoint,
    '--key',
    `${keysPath}/client_ed25519`,
    '--known-host-key',
    `${keysPath}/host_ed25519.pub`,
    '--json',
    ...(o.checksum ? ['--checksum'] : []),
  ];
  return claimJob(
    source,
    syncObjectName('send', name, target, syncId),
    'sender',
    syncId,
    {
      container: moverContainer(source, 'send', args, o.image ?? defaultImage),
      volumes: moverVolumes(copyClaim, o.secret, true),
    },
    target,
  );
}

/** The Job that receives one sync into the destination PVC; it succeeds only on a complete transfer. */
export function receiverJob(
  destination: V1PersistentVolumeClaim,
  syncId: string,
  o: MoverOptions,
): V1Job {
  const args = [
    '--listen',
    `0.0.0.0:${moverPort}`,
    '--host-key',
    `${keysPath}/host_ed25519`,
    '--authorized-key',
    `${keysPath}/client_ed25519.pub`,
    '--once',
  ];
  const job = claimJob(
    destination,
    objectName('scribe-receive', claimName(destination), syncId),
    'receiver',
    syncId,
    {
      container: moverContainer(destination, 'receive', args, o.image ?? defaultImage),
      volumes: moverVolumes(claimName(destination), o.secret, false),
    },
  );
  job.spec!.template.spec!.containers[0]!.ports = [{ name: 'mover', containerPort: moverPort }];
  return job;
}

/** A one-pod Job Scribe owns for a claim: no retries of its own, no token, removed an hour after it ends. */
export function claimJob(
  pvc: V1PersistentVolumeClaim,
  name: string,
  component: string,
  syncId: string,
  pod: { container: V1Container; volumes: V1Volume[] },
  target?: string,
): V1Job {
  const base =
    target === undefined
      ? labelsFor(claimName(pvc), component)
      : targetLabelsFor(claimName(pvc), component, target);
  const labels = { ...base, [syncIdLabel]: syncId };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: pvc.metadata?.namespace,
      labels,
      ownerReferences: [ownerRef(pvc)],
    },
    spec: {
      // The replicator retries with its own backoff and records each failure.
      backoffLimit: 0,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [pod.container],
          volumes: pod.volumes,
        },
      },
    },
  };
}

/** The Service through which the source reaches the destination's receiver. */
export function endpointService(
  destination: V1PersistentVolumeClaim,
  type: 'ClusterIP' | 'LoadBalancer' | 'NodePort',
): V1Service {
  const name = claimName(destination);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: objectName('scribe', name),
      namespace: destination.metadata?.namespace,
      labels: labelsFor(name, 'endpoint'),
      ownerReferences: [ownerRef(destination)],
    },
    spec: {
      type,
      selector: labelsFor(name, 'receiver'),
      ports: [{ name: 'mover', port: moverPort, targetPort: moverPort, protocol: 'TCP' }],
    },
  };
}
