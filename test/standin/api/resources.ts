// The kinds the stand-in serves: one row per REST resource. Discovery, routing,
// status-subresource handling and printing all read this table, so a kind is
// added in one place. Verbs, short names, categories and storage version hashes
// are the ones kube-apiserver 1.24 reports (fixtures/kube-1.24/discovery/);
// the snapshot CRDs follow the external-snapshotter CRDs' shape.

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
  /** CRDs name their singular in discovery; built-in kinds leave it empty. */
  singularName?: string;
  /** Has a /status subresource: the main resource ignores status writes. */
  status: boolean;
  /** Pods: a `log` subresource served by a hook. */
  log?: boolean;
}

const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];
const CRD_VERBS = [
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'create',
  'update',
  'watch',
];
const NS_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function builtIn(
  group: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version: 'v1',
    resource,
    kind,
    listKind: `${kind}List`,
    namespaced,
    verbs: ALL_VERBS,
    status: false,
    ...extra,
  };
}

export const RESOURCES: readonly ResourceType[] = [
  builtIn('', 'configmaps', 'ConfigMap', true, {
    shortNames: ['cm'],
    storageVersionHash: 'qFsyl6wFWjQ=',
  }),
  builtIn('', 'endpoints', 'Endpoints', true, {
    listKind: 'EndpointsList',
    shortNames: ['ep'],
    storageVersionHash: 'fWeeMqaN/OA=',
  }),
  builtIn('', 'events', 'Event', true, { shortNames: ['ev'], storageVersionHash: 'r2yiGXH7wu8=' }),
  builtIn('', 'namespaces', 'Namespace', false, {
    verbs: NS_VERBS,
    shortNames: ['ns'],
    storageVersionHash: 'Q3oi5N2YM8M=',
    status: true,
  }),
  builtIn('', 'nodes', 'Node', false, {
    shortNames: ['no'],
    storageVersionHash: 'XwShjMxG9Fs=',
    status: true,
  }),
  builtIn('', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, {
    shortNames: ['pvc'],
    storageVersionHash: 'QWTyNDq0dC4=',
    status: true,
  }),
  builtIn('', 'persistentvolumes', 'PersistentVolume', false, {
    shortNames: ['pv'],
    storageVersionHash: 'HN/zwEC+JgM=',
    status: true,
  }),
  builtIn('', 'pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    storageVersionHash: 'xPOwRZ+Yhw8=',
    status: true,
    log: true,
  }),
  builtIn('', 'secrets', 'Secret', true, { storageVersionHash: 'S6u1pOWzb84=' }),
  builtIn('', 'serviceaccounts', 'ServiceAccount', true, {
    shortNames: ['sa'],
    storageVersionHash: 'pbx9ZvyFpBE=',
  }),
  builtIn('', 'services', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    storageVersionHash: '0/CO1lhkEBI=',
    status: true,
  }),
  builtIn('apps', 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    storageVersionHash: '8aSe+NMegvE=',
    status: true,
  }),
  builtIn('apps', 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    categories: ['all'],
    storageVersionHash: 'P1RzHs8/mWQ=',
    status: true,
  }),
  // No capture of 1.24's policy/v1 discovery: no storageVersionHash (optional).
  builtIn('policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true, {
    shortNames: ['pdb'],
    status: true,
  }),
  builtIn('batch', 'jobs', 'Job', true, {
    categories: ['all'],
    storageVersionHash: 'mudhfqk/qZY=',
    status: true,
  }),
  builtIn('storage.k8s.io', 'storageclasses', 'StorageClass', false, {
    shortNames: ['sc'],
    storageVersionHash: 'K+m6uJwbjGY=',
  }),
  builtIn('coordination.k8s.io', 'leases', 'Lease', true, { storageVersionHash: 'gqkMMb/YqFM=' }),
  builtIn(
    'admissionregistration.k8s.io',
    'mutatingwebhookconfigurations',
    'MutatingWebhookConfiguration',
    false,
    {
      categories: ['api-extensions'],
      storageVersionHash: 'Sqi0GUgDaX0=',
    },
  ),
  builtIn(
    'admissionregistration.k8s.io',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
    {
      categories: ['api-extensions'],
      storageVersionHash: 'B0wHjQmsGNk=',
    },
  ),
  builtIn('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false),
  builtIn('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false),
  builtIn('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true),
  builtIn('rbac.authorization.k8s.io', 'roles', 'Role', true),
  builtIn('snapshot.storage.k8s.io', 'volumesnapshotclasses', 'VolumeSnapshotClass', false, {
    verbs: CRD_VERBS,
    singularName: 'volumesnapshotclass',
    shortNames: ['vsclass', 'vsclasses'],
  }),
  builtIn('snapshot.storage.k8s.io', 'volumesnapshotcontents', 'VolumeSnapshotContent', false, {
    verbs: CRD_VERBS,
    singularName: 'volumesnapshotcontent',
    shortNames: ['vsc', 'vscs'],
    status: true,
  }),
  builtIn('snapshot.storage.k8s.io', 'volumesnapshots', 'VolumeSnapshot', true, {
    verbs: CRD_VERBS,
    singularName: 'volumesnapshot',
    shortNames: ['vs'],
    status: true,
  }),
];

/** "group/resource", the key objects are stored under ("/pods" for the core group). */
export function resourceKey(r: Pick<ResourceType, 'group' | 'resource'>): string {
  return `${r.group}/${r.resource}`;
}

export function apiVersionOf(r: Pick<ResourceType, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceType | undefined {
  return RESOURCES.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

export function findByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Groups in the order /apis lists them (the 1.24 order, then the CRD group). */
export const GROUP_ORDER = [
  'apps',
  'authorization.k8s.io',
  'batch',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'coordination.k8s.io',
  'snapshot.storage.k8s.io',
];
