// Server-side printing: meta.k8s.io/v1 Table answers for kubectl get, with the
// columns kube-apiserver 1.24 prints per kind (priority 1 = `-o wide` only).
import type { KubeObject } from './admission-seam.ts';
import type { ResourceType } from './resources.ts';

interface Column {
  name: string;
  type?: string;
  format?: string;
  description: string;
  priority?: number;
  cell: (o: Obj, now: number) => string | number | boolean;
}

type Obj = KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** kubectl's duration.HumanDuration, which the server uses for AGE. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function age(o: Obj, now: number): string {
  const t = o.metadata?.creationTimestamp;
  if (!t) return '<unknown>';
  return humanDuration(now - new Date(t as unknown as string).getTime());
}

const NAME: Column = {
  name: 'Name',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names',
  cell: (o) => o.metadata?.name ?? '',
};
const AGE: Column = {
  name: 'Age',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  cell: age,
};

const col = (
  name: string,
  description: string,
  cell: Column['cell'],
  priority = 0,
  type = 'string',
): Column => ({ name, description, cell, priority, type });

const join = (v: unknown[] | undefined, sep = ','): string =>
  v && v.length ? v.join(sep) : '<none>';

function accessModes(modes: string[] | undefined): string {
  const short: Record<string, string> = {
    ReadWriteOnce: 'RWO',
    ReadOnlyMany: 'ROX',
    ReadWriteMany: 'RWX',
    ReadWriteOncePod: 'RWOP',
  };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}

function podStatus(o: Obj): string {
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  const waiting = (o.status?.containerStatuses ?? []).find(
    (c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason,
  );
  if (waiting) return waiting.state.waiting.reason as string;
  return o.status?.reason ?? o.status?.phase ?? 'Pending';
}

function containerNames(t: Obj | undefined): string {
  return join((t?.spec?.containers ?? []).map((c: { name: string }) => c.name));
}
function containerImages(t: Obj | undefined): string {
  return join((t?.spec?.containers ?? []).map((c: { image: string }) => c.image));
}
function selector(s: { matchLabels?: Record<string, string> } | undefined): string {
  const ml = s?.matchLabels ?? {};
  const parts = Object.entries(ml).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : '<none>';
}

const COLUMNS: Record<string, Column[]> = {
  '/Pod': [
    NAME,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.', (o) => {
      const total = (o.spec?.containers ?? []).length;
      const ready = (o.status?.containerStatuses ?? []).filter(
        (c: { ready?: boolean }) => c.ready,
      ).length;
      return `${ready}/${total}`;
    }),
    col('Status', 'The aggregate status of the containers in this pod.', podStatus),
    col(
      'Restarts',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      (o) =>
        String(
          (o.status?.containerStatuses ?? []).reduce(
            (n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0),
            0,
          ),
        ),
    ),
    AGE,
    col(
      'IP',
      'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      (o) => o.status?.podIP ?? '<none>',
      1,
    ),
    col(
      'Node',
      'NodeName is a request to schedule this pod onto a specific node.',
      (o) => o.spec?.nodeName ?? '<none>',
      1,
    ),
    col(
      'Nominated Node',
      'nominatedNodeName is set only when this pod preempts other pods on the node.',
      (o) => o.status?.nominatedNodeName ?? '<none>',
      1,
    ),
    col(
      'Readiness Gates',
      'If specified, all readiness gates will be evaluated for pod readiness.',
      () => '<none>',
      1,
    ),
  ],
  '/PersistentVolumeClaim': [
    NAME,
    col('Status', 'phase represents the current phase of PersistentVolumeClaim.', (o) =>
      o.metadata?.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''),
    ),
    col(
      'Volume',
      'volumeName is the binding reference to the PersistentVolume backing this claim.',
      (o) => o.spec?.volumeName ?? '',
    ),
    col(
      'Capacity',
      'capacity represents the actual resources of the underlying volume.',
      (o) => o.status?.capacity?.storage ?? '',
    ),
    col(
      'Access Modes',
      'accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1',
      (o) => accessModes(o.status?.accessModes),
    ),
    col('StorageClass', 'StorageClass of the pvc', (o) => o.spec?.storageClassName ?? ''),
    AGE,
    col(
      'VolumeMode',
      'volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.',
      (o) => o.spec?.volumeMode ?? 'Filesystem',
      1,
    ),
  ],
  '/PersistentVolume': [
    NAME,
    col(
      'Capacity',
      "capacity is the description of the persistent volume's resources and capacity.",
      (o) => o.spec?.capacity?.storage ?? '',
    ),
    col('Access Modes', 'accessModes contains all ways the volume can be mounted.', (o) =>
      accessModes(o.spec?.accessModes),
    ),
    col(
      'Reclaim Policy',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
      (o) => o.spec?.persistentVolumeReclaimPolicy ?? '',
    ),
    col(
      'Status',
      'phase indicates if a volume is available, bound to a claim, or released by a claim.',
      (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? '')),
    ),
    col(
      'Claim',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
      (o) => (o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : ''),
    ),
    col(
      'StorageClass',
      'storageClassName is the name of StorageClass to which this persistent volume belongs.',
      (o) => o.spec?.storageClassName ?? '',
    ),
    col(
      'Reason',
      'reason is a brief CamelCase string that describes any failure.',
      (o) => o.status?.reason ?? '',
    ),
    AGE,
    col(
      'VolumeMode',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      (o) => o.spec?.volumeMode ?? 'Filesystem',
      1,
    ),
  ],
  '/Node': [
    NAME,
    col('Status', 'The status of the node', (o) => {
      const ready = (o.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      const base = ready?.status === 'True' ? 'Ready' : 'NotReady';
      return o.spec?.unschedulable ? `${base},SchedulingDisabled` : base;
    }),
    col('Roles', 'The roles of the node', (o) => {
      const roles = Object.keys(o.metadata?.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      return roles.length ? roles.sort().join(',') : '<none>';
    }),
    AGE,
    col(
      'Version',
      'Kubelet Version reported by the node.',
      (o) => o.status?.nodeInfo?.kubeletVersion ?? '',
    ),
    col(
      'Internal-IP',
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
      (o) =>
        (o.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')
          ?.address ?? '<none>',
      1,
    ),
    col(
      'External-IP',
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
      (o) =>
        (o.status?.addresses ?? []).find((a: { type: string }) => a.type === 'ExternalIP')
          ?.address ?? '<none>',
      1,
    ),
    col(
      'OS-Image',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      (o) => o.status?.nodeInfo?.osImage ?? '<unknown>',
      1,
    ),
    col(
      'Kernel-Version',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      (o) => o.status?.nodeInfo?.kernelVersion ?? '<unknown>',
      1,
    ),
    col(
      'Container-Runtime',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>',
      1,
    ),
  ],
  '/Namespace': [
    NAME,
    col('Status', 'The status of the namespace', (o) => o.status?.phase ?? ''),
    AGE,
  ],
  '/Secret': [
    NAME,
    col('Type', 'The type of the secret', (o) => o.type ?? ''),
    col(
      'Data',
      'The number of data in the secret',
      (o) => Object.keys(o.data ?? {}).length,
      0,
      'integer',
    ),
    AGE,
  ],
  '/ConfigMap': [
    NAME,
    col(
      'Data',
      'Data contains the configuration data.',
      (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
      0,
      'integer',
    ),
    AGE,
  ],
  '/ServiceAccount': [
    NAME,
    col(
      'Secrets',
      'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.',
      (o) => (o.secrets ?? []).length,
      0,
      'integer',
    ),
    AGE,
  ],
  '/Service': [
    NAME,
    col('Type', 'type determines how the Service is exposed.', (o) => o.spec?.type ?? ''),
    col(
      'Cluster-IP',
      'clusterIP is the IP address of the service.',
      (o) => o.spec?.clusterIP ?? '<none>',
    ),
    col(
      'External-IP',
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      (o) => join(o.spec?.externalIPs),
    ),
    col('Port(s)', 'The list of ports that are exposed by this service.', (o) =>
      (o.spec?.ports ?? []).length
        ? (o.spec.ports as { port: number; protocol?: string; nodePort?: number }[])
            .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
            .join(',')
        : '<none>',
    ),
    AGE,
    col(
      'Selector',
      'Route service traffic to pods with label keys and values matching this selector.',
      (o) => selector({ matchLabels: o.spec?.selector }),
      1,
    ),
  ],
  '/Endpoints': [
    NAME,
    col('Endpoints', 'Endpoints of the service.', (o) => {
      const addrs = (o.subsets ?? []).flatMap(
        (s: { addresses?: { ip: string }[]; ports?: { port: number }[] }) =>
          (s.addresses ?? []).flatMap((a) =>
            (s.ports ?? [{ port: 0 }]).map((p) => `${a.ip}:${p.port}`),
          ),
      );
      return addrs.length ? addrs.join(',') : '<none>';
    }),
    AGE,
  ],
  '/Event': [
    col('Last Seen', 'Time when this Event was last observed.', (o, now) => {
      const t = o.lastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp;
      return t ? humanDuration(now - new Date(t).getTime()) : '<unknown>';
    }),
    col(
      'Type',
      'Type of this event (Normal, Warning), new types could be added in the future.',
      (o) => o.type ?? '',
    ),
    col(
      'Reason',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      (o) => o.reason ?? '',
    ),
    col(
      'Object',
      'The object that this event is about.',
      (o) =>
        `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    ),
    col('Message', 'A human-readable description of the status of this operation.', (o) =>
      String(o.message ?? '').trim(),
    ),
    col(
      'Source',
      'The component reporting this event. Should be a short machine understandable string.',
      (o) => o.source?.component ?? o.reportingComponent ?? '',
      1,
    ),
    col('Count', 'The number of times this event has occurred.', (o) => o.count ?? 1, 1, 'integer'),
    { ...NAME, priority: 1 },
  ],
  'apps/Deployment': [
    NAME,
    col(
      'Ready',
      'Number of the pod with ready state',
      (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
    ),
    col(
      'Up-to-date',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      (o) => o.status?.updatedReplicas ?? 0,
      0,
      'integer',
    ),
    col(
      'Available',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      (o) => o.status?.availableReplicas ?? 0,
      0,
      'integer',
    ),
    AGE,
    col(
      'Containers',
      'Names of each container in the template.',
      (o) => containerNames(o.spec?.template),
      1,
    ),
    col(
      'Images',
      'Images referenced by each container in the template.',
      (o) => containerImages(o.spec?.template),
      1,
    ),
    col(
      'Selector',
      'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
      (o) => selector(o.spec?.selector),
      1,
    ),
  ],
  'apps/ReplicaSet': [
    NAME,
    col(
      'Desired',
      'Replicas is the number of desired replicas.',
      (o) => o.spec?.replicas ?? 0,
      0,
      'integer',
    ),
    col(
      'Current',
      'Replicas is the most recently oberved number of replicas.',
      (o) => o.status?.replicas ?? 0,
      0,
      'integer',
    ),
    col(
      'Ready',
      'The number of ready replicas for this replica set.',
      (o) => o.status?.readyReplicas ?? 0,
      0,
      'integer',
    ),
    AGE,
    col(
      'Containers',
      'Names of each container in the template.',
      (o) => containerNames(o.spec?.template),
      1,
    ),
    col(
      'Images',
      'Images referenced by each container in the template.',
      (o) => containerImages(o.spec?.template),
      1,
    ),
    col(
      'Selector',
      'Selector is a label query over pods that should match the replica count.',
      (o) => selector(o.spec?.selector),
      1,
    ),
  ],
  'batch/Job': [
    NAME,
    col(
      'Completions',
      'The desired number of successfully finished pods the job should be run with.',
      (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`,
    ),
    col('Duration', 'Time required to complete the job.', (o, now) => {
      const start = o.status?.startTime;
      if (!start) return '';
      const end = o.status?.completionTime ? new Date(o.status.completionTime).getTime() : now;
      return humanDuration(end - new Date(start).getTime());
    }),
    AGE,
    col(
      'Containers',
      'Names of each container in the template.',
      (o) => containerNames(o.spec?.template),
      1,
    ),
    col(
      'Images',
      'Images referenced by each container in the template.',
      (o) => containerImages(o.spec?.template),
      1,
    ),
    col(
      'Selector',
      'Selector is a label query over pods that should match the pod count.',
      (o) => selector(o.spec?.selector),
      1,
    ),
  ],
  'storage.k8s.io/StorageClass': [
    NAME,
    col('Provisioner', 'Indicates the type of the provisioner.', (o) =>
      o.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true'
        ? `${o.provisioner} (default)`
        : (o.provisioner ?? ''),
    ),
    col(
      'ReclaimPolicy',
      'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy. Defaults to Delete.',
      (o) => o.reclaimPolicy ?? '',
    ),
    col(
      'VolumeBindingMode',
      'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used.',
      (o) => o.volumeBindingMode ?? '',
    ),
    col(
      'AllowVolumeExpansion',
      'AllowVolumeExpansion shows whether the storage class allow volume expand',
      (o) => String(o.allowVolumeExpansion ?? false),
    ),
    AGE,
  ],
  'coordination.k8s.io/Lease': [
    NAME,
    col('Holder', 'The holder of the lease', (o) => o.spec?.holderIdentity ?? ''),
    AGE,
  ],
  'snapshot.storage.k8s.io/VolumeSnapshot': [
    NAME,
    col(
      'ReadyToUse',
      'Indicates if the snapshot is ready to be used to restore a volume.',
      (o) => String(o.status?.readyToUse ?? ''),
      0,
      'boolean',
    ),
    col(
      'SourcePVC',
      'If a new snapshot needs to be created, this contains the name of the source PVC from which this snapshot was (or will be) created.',
      (o) => o.spec?.source?.persistentVolumeClaimName ?? '',
    ),
    col(
      'SourceSnapshotContent',
      'If a snapshot already exists, this contains the name of the existing VolumeSnapshotContent object representing the existing snapshot.',
      (o) => o.spec?.source?.volumeSnapshotContentName ?? '',
    ),
    col(
      'RestoreSize',
      'Represents the minimum size of volume required to rehydrate from this snapshot.',
      (o) => o.status?.restoreSize ?? '',
    ),
    col(
      'SnapshotClass',
      'The name of the VolumeSnapshotClass requested by the VolumeSnapshot.',
      (o) => o.spec?.volumeSnapshotClassName ?? '',
    ),
    col(
      'SnapshotContent',
      'Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends to bind to. Please note that verification of binding actually requires checking both VolumeSnapshot and VolumeSnapshotContent to ensure both are pointing at each other. Binding MUST be verified prior to usage of this object.',
      (o) => o.status?.boundVolumeSnapshotContentName ?? '',
    ),
    col(
      'CreationTime',
      'Timestamp when the point-in-time snapshot was taken by the underlying storage system.',
      (o, now) =>
        o.status?.creationTime
          ? humanDuration(now - new Date(o.status.creationTime).getTime())
          : '',
    ),
    AGE,
  ],
  'snapshot.storage.k8s.io/VolumeSnapshotClass': [
    NAME,
    col('Driver', 'Driver', (o) => o.driver ?? ''),
    col(
      'DeletionPolicy',
      'Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted.',
      (o) => o.deletionPolicy ?? '',
    ),
    AGE,
  ],
  'snapshot.storage.k8s.io/VolumeSnapshotContent': [
    NAME,
    col(
      'ReadyToUse',
      'Indicates if a snapshot is ready to be used to restore a volume.',
      (o) => String(o.status?.readyToUse ?? ''),
      0,
      'boolean',
    ),
    col(
      'RestoreSize',
      'Represents the complete size of the snapshot in bytes',
      (o) => o.status?.restoreSize ?? '',
      0,
      'integer',
    ),
    col(
      'DeletionPolicy',
      'Determines whether this VolumeSnapshotContent and its physical snapshot on the underlying storage system should be deleted when its bound VolumeSnapshot is deleted.',
      (o) => o.spec?.deletionPolicy ?? '',
    ),
    col(
      'Driver',
      'Name of the CSI driver used to create the physical snapshot on the underlying storage system.',
      (o) => o.spec?.driver ?? '',
    ),
    col(
      'VolumeSnapshotClass',
      'Name of the VolumeSnapshotClass to which this snapshot belongs.',
      (o) => o.spec?.volumeSnapshotClassName ?? '',
    ),
    col(
      'VolumeSnapshot',
      'Name of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
      (o) => o.spec?.volumeSnapshotRef?.name ?? '',
    ),
    col(
      'VolumeSnapshotNamespace',
      'Namespace of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound.',
      (o) => o.spec?.volumeSnapshotRef?.namespace ?? '',
    ),
    AGE,
  ],
};

function columnsFor(rt: ResourceType): Column[] {
  return COLUMNS[`${rt.group}/${rt.kind}`] ?? [NAME, AGE];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KubeObject, include: IncludeObject): object | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** A Table of `objects`; `listMeta` is the list's metadata (resourceVersion, continue). */
export function toTable(
  rt: ResourceType,
  objects: KubeObject[],
  listMeta: object,
  include: IncludeObject,
  now = Date.now(),
): object {
  const cols = columnsFor(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type ?? 'string',
      format: c.format ?? '',
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: cols.map((c) => c.cell(o as Obj, now)) };
      const obj = rowObject(o, include);
      if (obj) row.object = obj;
      return row;
    }),
  };
}

/** Does this Accept header ask for a Table (kubectl get's `as=Table;g=meta.k8s.io`)? */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some(
      (part) =>
        /;\s*as=Table/.test(part) &&
        /;\s*g=meta\.k8s\.io/.test(part) &&
        /;\s*v=v1(;|$|\s)/.test(part),
    );
}
