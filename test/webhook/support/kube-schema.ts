import * as k8s from '@kubernetes/client-node';

// A structural check against the Kubernetes API schema as client-node's
// models carry it (generated from the API's OpenAPI document): every field
// must exist in its type, with the right JSON type, recursively. The models do
// not mark required fields; the ones Pod validation insists on are listed here
// from the API reference.

type AttributeMap = { name: string; baseName: string; type: string }[];
type Model = { getAttributeTypeMap(): AttributeMap };

const REQUIRED: Record<string, string[]> = {
  V1Pod: ['spec'],
  V1PodSpec: ['containers'],
  V1Container: ['name'],
  V1Volume: ['name'],
  V1VolumeMount: ['name', 'mountPath'],
  V1VolumeDevice: ['name', 'devicePath'],
  V1KeyToPath: ['key', 'path'],
  V1PersistentVolumeClaimVolumeSource: ['claimName'],
  V1Capabilities: [],
  V1MutatingWebhook: ['name', 'clientConfig', 'sideEffects', 'admissionReviewVersions'],
  V1ValidatingWebhook: ['name', 'clientConfig', 'sideEffects', 'admissionReviewVersions'],
  V1MatchCondition: ['name', 'expression'],
  V1Deployment: [],
  V1PolicyRule: ['verbs'],
  V1RoleRef: ['apiGroup', 'kind', 'name'],
  V1Subject: ['kind', 'name'],
  V1ServicePort: ['port'],
};

// Pod fields whose values are closed enums in the API.
const ENUMS: Record<string, Record<string, string[]>> = {
  V1Container: {
    imagePullPolicy: ['Always', 'IfNotPresent', 'Never'],
    restartPolicy: ['Always'],
    terminationMessagePolicy: ['File', 'FallbackToLogsOnError'],
  },
  V1SeccompProfile: { type: ['RuntimeDefault', 'Localhost', 'Unconfined'] },
};

function model(name: string): Model | undefined {
  const m = (k8s as unknown as Record<string, unknown>)[name];
  return typeof m === 'function' && 'getAttributeTypeMap' in m
    ? (m as unknown as Model)
    : undefined;
}

export function schemaErrors(typeName: string, value: unknown, path = ''): string[] {
  const at = path || '<root>';
  if (value === null || value === undefined) return [];
  if (typeName === 'any') return [];
  if (typeName === 'string') return typeof value === 'string' ? [] : [`${at}: expected a string`];
  if (typeName === 'number') return typeof value === 'number' ? [] : [`${at}: expected a number`];
  if (typeName === 'boolean')
    return typeof value === 'boolean' ? [] : [`${at}: expected a boolean`];
  if (typeName === 'Date')
    return typeof value === 'string' || value instanceof Date ? [] : [`${at}: expected a time`];
  if (typeName === 'IntOrString') {
    return typeof value === 'string' || Number.isInteger(value)
      ? []
      : [`${at}: expected an integer or a string`];
  }
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (!Array.isArray(value)) return [`${at}: expected a list`];
    return value.flatMap((v, i) => schemaErrors(array[1]!, v, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected a map`];
    return Object.entries(value as object).flatMap(([k, v]) =>
      schemaErrors(map[1]!, v, `${path}[${k}]`),
    );
  }
  const m = model(typeName);
  if (!m) return [`${at}: unknown schema type ${typeName}`];
  if (typeof value !== 'object' || Array.isArray(value))
    return [`${at}: expected an object (${typeName})`];
  const attrs = new Map(m.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const errors: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const t = attrs.get(k);
    if (!t) {
      errors.push(`${path ? `${path}.` : ''}${k}: unknown field in ${typeName}`);
      continue;
    }
    errors.push(...schemaErrors(t, v, path ? `${path}.${k}` : k));
    const allowed = ENUMS[typeName]?.[k];
    if (allowed && typeof v === 'string' && !allowed.includes(v)) {
      errors.push(`${path ? `${path}.` : ''}${k}: "${v}" is not one of ${allowed.join(', ')}`);
    }
  }
  for (const r of REQUIRED[typeName] ?? []) {
    if ((value as Record<string, unknown>)[r] === undefined)
      errors.push(`${path ? `${path}.` : ''}${r}: required in ${typeName}`);
  }
  return errors;
}

// Names that must be unique within a pod (the API server's own checks).
export function podUniquenessErrors(pod: k8s.V1Pod): string[] {
  const errors: string[] = [];
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
    (c) => c.name,
  );
  const volumes = (pod.spec?.volumes ?? []).map((v) => v.name);
  for (const [what, names] of [
    ['container', containers],
    ['volume', volumes],
  ] as const) {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) errors.push(`duplicate ${what} name ${n}`);
      seen.add(n);
      if (n.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n))
        errors.push(`${what} name ${n} is not a DNS-1123 label`);
    }
  }
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const m of [...(c.volumeMounts ?? []), ...(c.volumeDevices ?? [])]) {
      if (!volumes.includes(m.name))
        errors.push(`container ${c.name} uses volume ${m.name}, which the pod does not have`);
    }
  }
  return errors;
}
