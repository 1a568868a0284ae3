// Update rules: which fields a stored object keeps for good. Each check
// compares the live object with the proposed one and returns field errors in
// kube-apiserver 1.24's words.
import { isDeepStrictEqual } from 'node:util';
import type { V1PersistentVolumeClaimSpec, V1PodSpec } from '@kubernetes/client-node';
import type { KubeObject } from './admission-seam.ts';
import type { ResourceType } from './resources.ts';
import { forbidden, invalidValue, type FieldError } from './status-errors.ts';

type Spec = Record<string, unknown>;

/** Drops undefined members so "absent" and "undefined" compare equal. */
function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function specOf(o: KubeObject): Spec {
  return ((o as { spec?: Spec }).spec ?? {}) as Spec;
}

/** Go's rendering of a PVC spec field in cmp.Diff output (close, not byte-exact). */
function goField(v: unknown): string {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'string') return `&${JSON.stringify(v)}`;
  return JSON.stringify(v);
}

const PVC_FIELDS: [keyof V1PersistentVolumeClaimSpec, string][] = [
  ['accessModes', 'AccessModes'],
  ['selector', 'Selector'],
  ['resources', 'Resources'],
  ['volumeName', 'VolumeName'],
  ['storageClassName', 'StorageClassName'],
  ['volumeMode', 'VolumeMode'],
  ['dataSource', 'DataSource'],
  ['dataSourceRef', 'DataSourceRef'],
];

function pvcSpecDiff(a: V1PersistentVolumeClaimSpec, b: V1PersistentVolumeClaimSpec): string {
  const lines = ['  core.PersistentVolumeClaimSpec{'];
  for (const [k, goName] of PVC_FIELDS) {
    if (isDeepStrictEqual(a[k], b[k])) continue;
    lines.push(`- \t${goName}: ${goField(a[k])},`, `+ \t${goName}: ${goField(b[k])},`);
  }
  lines.push('  }', '');
  return lines.join('\n');
}

export function pvcUpdateErrors(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const oldSpec = specOf(oldObj) as V1PersistentVolumeClaimSpec;
  const newSpec = specOf(newObj) as V1PersistentVolumeClaimSpec;
  const bound = Boolean(oldSpec.volumeName);
  const comparableOld: V1PersistentVolumeClaimSpec = { ...oldSpec };
  const comparableNew: V1PersistentVolumeClaimSpec = { ...newSpec };
  // Binding (the PV controller writes volumeName once) is not a spec change.
  if (!oldSpec.volumeName) comparableOld.volumeName = newSpec.volumeName;
  if (bound) {
    comparableOld.resources = { ...oldSpec.resources, requests: newSpec.resources?.requests };
  }
  const errs: FieldError[] = [];
  if (!isDeepStrictEqual(plain(comparableOld), plain(comparableNew))) {
    errs.push(
      forbidden(
        'spec',
        `spec is immutable after creation except resources.requests for bound claims\n${pvcSpecDiff(comparableOld, comparableNew)}`,
      ),
    );
  }
  if ((oldSpec.volumeMode ?? 'Filesystem') !== (newSpec.volumeMode ?? 'Filesystem')) {
    errs.push(invalidValue('volumeMode', newSpec.volumeMode, 'field is immutable'));
  }
  return errs;
}

const POD_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

export function podUpdateErrors(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const o = structuredClone(specOf(oldObj)) as unknown as V1PodSpec;
  const n = structuredClone(specOf(newObj)) as unknown as V1PodSpec;
  const errs: FieldError[] = [];
  const oldTol = o.tolerations ?? [];
  const newTol = n.tolerations ?? [];
  const kept = oldTol.every((t) => newTol.some((x) => isDeepStrictEqual(x, t)));
  if (!kept)
    errs.push(
      forbidden(
        'spec.tolerations',
        'existing toleration can not be modified except its tolerationSeconds',
      ),
    );
  // Ignore what may change, then everything else must be equal.
  for (const [i, c] of (n.containers ?? []).entries())
    if (o.containers?.[i]) o.containers[i]!.image = c.image;
  for (const [i, c] of (n.initContainers ?? []).entries()) {
    if (o.initContainers?.[i]) o.initContainers[i]!.image = c.image;
  }
  o.activeDeadlineSeconds = n.activeDeadlineSeconds;
  o.tolerations = n.tolerations;
  if (!o.nodeName && n.nodeName) o.nodeName = n.nodeName; // binding
  if (!isDeepStrictEqual(plain(o), plain(n))) {
    errs.push(forbidden('spec', POD_MESSAGE));
  }
  return errs;
}

const IMMUTABLE_DATA = 'field is immutable when `immutable` is set';

function immutableDataErrors(oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  const o = oldObj as Record<string, unknown>;
  const n = newObj as Record<string, unknown>;
  if (o.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (n.immutable !== true) errs.push(forbidden('immutable', IMMUTABLE_DATA));
  if (!isDeepStrictEqual(o.data ?? {}, n.data ?? {})) errs.push(forbidden('data', IMMUTABLE_DATA));
  if (!isDeepStrictEqual(o.binaryData ?? {}, n.binaryData ?? {}))
    errs.push(forbidden('binaryData', IMMUTABLE_DATA));
  return errs;
}

function fieldImmutable(path: string, a: unknown, b: unknown, shown: unknown = b): FieldError[] {
  return isDeepStrictEqual(plain(a), plain(b))
    ? []
    : [invalidValue(path, shown, 'field is immutable')];
}

/** Errors for changing what `rt` never lets change after creation. */
export function immutableFieldErrors(
  rt: ResourceType,
  oldObj: KubeObject,
  newObj: KubeObject,
): FieldError[] {
  const o = oldObj as Record<string, unknown>;
  const n = newObj as Record<string, unknown>;
  switch (`${rt.group}/${rt.kind}`) {
    case '/PersistentVolumeClaim':
      return pvcUpdateErrors(oldObj, newObj);
    case '/Pod':
      return podUpdateErrors(oldObj, newObj);
    case '/Secret':
      return [...immutableDataErrors(oldObj, newObj), ...fieldImmutable('type', o.type, n.type)];
    case '/ConfigMap':
      return immutableDataErrors(oldObj, newObj);
    case 'batch/Job':
      return [
        ...fieldImmutable('spec.selector', specOf(oldObj).selector, specOf(newObj).selector),
        ...fieldImmutable(
          'spec.template',
          specOf(oldObj).template,
          specOf(newObj).template,
          'core.PodTemplateSpec{...}',
        ),
        ...fieldImmutable(
          'spec.completions',
          specOf(oldObj).completions,
          specOf(newObj).completions,
        ),
      ];
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
      return fieldImmutable('spec.selector', specOf(oldObj).selector, specOf(newObj).selector);
    case 'storage.k8s.io/StorageClass': {
      const errs: FieldError[] = [];
      for (const f of ['parameters', 'provisioner', 'reclaimPolicy', 'volumeBindingMode']) {
        if (!isDeepStrictEqual(o[f], n[f]))
          errs.push(forbidden(f, `updates to ${f} are forbidden.`));
      }
      return errs;
    }
    case 'snapshot.storage.k8s.io/VolumeSnapshot':
      return fieldImmutable('spec.source', specOf(oldObj).source, specOf(newObj).source, 'object');
    default:
      return [];
  }
}
