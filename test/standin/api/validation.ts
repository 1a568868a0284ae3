// Object validation as kube-apiserver 1.24 words it: metadata rules for every
// kind and the few kind rules the project's flows meet. Returns field errors;
// the caller turns them into a 422 Status.
import type { V1PersistentVolumeClaim, V1Pod, V1Container } from '@kubernetes/client-node';
import type { KubeObject } from './admission-seam.ts';
import type { ResourceType } from './resources.ts';
import {
  invalidValue,
  notSupported,
  required,
  forbidden,
  duplicate,
  type FieldError,
} from './status-errors.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Why `key` is not a qualified name (`prefix/name`), or undefined when it is. */
export function qualifiedNameError(key: string): string | undefined {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))
      return `prefix part ${SUBDOMAIN_MSG}`;
  } else if (parts.length > 2) {
    return `a qualified name ${NAME_PART_MSG.replace('name part must', 'must')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) return NAME_PART_MSG;
  return undefined;
}

/** Names that must be DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['namespaces', 'services']);

export function validateMetadata(rt: ResourceType, obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj.metadata ?? {};
  const name = meta.name;
  if (!name) {
    errs.push(required('metadata.name', 'name or generateName is required'));
  } else if (LABEL_NAMED.has(rt.resource)) {
    if (name.length > 63 || !DNS1123_LABEL.test(name))
      errs.push(invalidValue('metadata.name', name, LABEL_MSG));
  } else if (rt.group === 'rbac.authorization.k8s.io') {
    if (name.includes('/') || name.includes('%') || name === '.' || name === '..') {
      errs.push(invalidValue('metadata.name', name, 'may not contain "/" or "%"'));
    }
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    errs.push(invalidValue('metadata.name', name, SUBDOMAIN_MSG));
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    const why = qualifiedNameError(key.toLowerCase());
    if (why) errs.push(invalidValue('metadata.annotations', key, why));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    const why = qualifiedNameError(key);
    if (why) errs.push(invalidValue('metadata.labels', key, why));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      errs.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
    }
  }
  for (const [i, f] of (meta.finalizers ?? []).entries()) {
    const why = qualifiedNameError(f);
    if (why) errs.push(invalidValue(`metadata.finalizers[${i}]`, f, why));
  }
  return errs;
}

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce'];

function validatePvc(pvc: V1PersistentVolumeClaim): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pvc.spec ?? {};
  const modes = spec.accessModes ?? [];
  if (modes.length === 0)
    errs.push(required('spec.accessModes', 'at least 1 access mode is required'));
  for (const m of modes) {
    if (!ACCESS_MODES.includes(m) && m !== 'ReadWriteOncePod') {
      errs.push(notSupported('spec.accessModes', m, ACCESS_MODES));
    }
  }
  if (spec.resources?.requests?.storage === undefined)
    errs.push(required('spec.resources[storage]'));
  if (spec.volumeMode && !['Block', 'Filesystem'].includes(spec.volumeMode)) {
    errs.push(notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
  }
  return errs;
}

function validateContainers(
  list: V1Container[] | undefined,
  path: string,
  volumes: Set<string>,
): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  for (const [i, c] of (list ?? []).entries()) {
    const p = `${path}[${i}]`;
    if (!c.name) errs.push(required(`${p}.name`));
    else if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else if (!DNS1123_LABEL.test(c.name)) errs.push(invalidValue(`${p}.name`, c.name, LABEL_MSG));
    names.add(c.name ?? '');
    if (!c.image) errs.push(required(`${p}.image`));
    for (const [j, m] of (c.volumeMounts ?? []).entries()) {
      if (!volumes.has(m.name)) {
        errs.push({
          reason: 'FieldValueNotFound',
          field: `${p}.volumeMounts[${j}].name`,
          message: `Not found: ${JSON.stringify(m.name)}`,
        });
      }
    }
  }
  return errs;
}

function validatePod(pod: V1Pod): FieldError[] {
  const spec = pod.spec;
  if (!spec) return [required('spec.containers')];
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const errs: FieldError[] = [];
  if (!spec.containers || spec.containers.length === 0) errs.push(required('spec.containers'));
  errs.push(...validateContainers(spec.containers, 'spec.containers', volumes));
  errs.push(...validateContainers(spec.initContainers, 'spec.initContainers', volumes));
  const policies = ['Always', 'OnFailure', 'Never'];
  if (spec.restartPolicy && !policies.includes(spec.restartPolicy)) {
    errs.push(notSupported('spec.restartPolicy', spec.restartPolicy, policies));
  }
  return errs;
}

/** Validation of an object about to be stored (create and update). */
export function validateObject(rt: ResourceType, obj: KubeObject): FieldError[] {
  const errs = validateMetadata(rt, obj);
  if (rt.group === '' && rt.kind === 'PersistentVolumeClaim')
    errs.push(...validatePvc(obj as V1PersistentVolumeClaim));
  if (rt.group === '' && rt.kind === 'Pod') errs.push(...validatePod(obj as V1Pod));
  return errs;
}

/** An object being deleted may lose finalizers but gain none. */
export function validateFinalizersDuringDeletion(
  oldObj: KubeObject,
  newObj: KubeObject,
): FieldError[] {
  if (!oldObj.metadata?.deletionTimestamp) return [];
  const old = new Set(oldObj.metadata.finalizers ?? []);
  const added = (newObj.metadata?.finalizers ?? []).filter((f) => !old.has(f));
  if (added.length === 0) return [];
  const list = added.map((f) => JSON.stringify(f)).join(', ');
  return [
    forbidden(
      'metadata.finalizers',
      `no new finalizers can be added if the object is being deleted, found new finalizers []string{${list}}`,
    ),
  ];
}
