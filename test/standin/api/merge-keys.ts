// The list semantics strategic merge patch and server-side apply share, for
// the fields Scribe and kubectl touch: lists merged by a key
// (patchMergeKey / listMapKeys), lists of primitives merged as sets, and maps
// (map[string]T in Go, whose managed-fields entries carry a "." marker).
export const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  env: 'name',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  webhooks: 'name',
};

/** Primitive lists with patchStrategy merge (kept as sets). */
export const PRIMITIVE_SETS = new Set(['finalizers']);

/** Fields typed map[string]X. */
export const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'requests',
  'limits',
  'data',
  'stringData',
  'binaryData',
  'matchLabels',
  'nodeSelector',
  'parameters',
  'capacity',
  'allocatable',
  'volumeAttributes',
]);

/**
 * Optional (pointer) structs and lists: their managed-fields entries carry a
 * "." of their own, as structured-merge-diff records their presence.
 */
export const POINTER_FIELDS = new Set([
  'initContainers',
  'ephemeralContainers',
  'volumes',
  'volumeMounts',
  'volumeDevices',
  'env',
  'ports',
  'imagePullSecrets',
  'ownerReferences',
  'tolerations',
  'persistentVolumeClaim',
  'secret',
  'configMap',
  'emptyDir',
  'hostPath',
  'projected',
  'downwardAPI',
  'csi',
  'ephemeral',
  'securityContext',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'httpGet',
  'exec',
  'tcpSocket',
  'selector',
  'dataSource',
  'dataSourceRef',
  'claimRef',
  'rollingUpdate',
  'affinity',
  'dnsConfig',
  'valueFrom',
  'secretKeyRef',
  'configMapKeyRef',
  'fieldRef',
]);

/** The merge key of list `field`, or undefined for an atomic list. */
export function mergeKeyFor(field: string, ...lists: unknown[][]): string | undefined {
  if (field === 'ports') {
    // Container ports merge on containerPort, service ports on port.
    const items = lists.flat() as Record<string, unknown>[];
    return items.some((i) => i && typeof i === 'object' && 'containerPort' in i)
      ? 'containerPort'
      : 'port';
  }
  return MERGE_KEYS[field];
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
