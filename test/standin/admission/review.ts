// AdmissionReview v1 requests as kube-apiserver v1.24 builds them
// (webhook/request/admissionreview.go), with the keys in the order its JSON
// encoder writes them and its omitempty rules: no `name` key for a
// generateName create, no `namespace` for a cluster-scoped object, `null`
// for a missing object or oldObject, no userInfo.uid when the user has none.
import { randomUUID } from 'node:crypto';
import type { AdmissionAttributes, KubeObject } from './seam.ts';

type GVK = { group: string; version: string; kind: string };
type GVR = { group: string; version: string; resource: string };

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  kind: GVK;
  resource: GVR;
  subResource?: string;
  requestKind: GVK;
  requestResource: GVR;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionAttributes['operation'];
  userInfo: UserInfo;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  options: object | null;
}

export interface AdmissionReviewRequest {
  kind: 'AdmissionReview';
  apiVersion: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
  request: AdmissionRequest;
}

const gvk = (k: GVK): GVK => ({ group: k.group, version: k.version, kind: k.kind });
const gvr = (r: GVR): GVR => ({ group: r.group, version: r.version, resource: r.resource });

function userInfo(u: AdmissionAttributes['userInfo'] & { extra?: UserInfo['extra'] }): UserInfo {
  const out: UserInfo = {};
  if (u.username) out.username = u.username;
  if (u.uid) out.uid = u.uid;
  if (u.groups && u.groups.length > 0) out.groups = [...u.groups];
  const extra = u.extra ?? {};
  const keys = Object.keys(extra).sort();
  if (keys.length > 0) out.extra = Object.fromEntries(keys.map((k) => [k, extra[k] ?? []]));
  return out;
}

/**
 * The review for one webhook call. `object` is the object as it stands at
 * this point of the chain (earlier mutating webhooks may have patched it);
 * every call gets a fresh uid, which the response must echo. v1beta1's
 * request has the same fields; only the apiVersion differs.
 */
export function buildAdmissionReview(
  a: AdmissionAttributes,
  object: KubeObject | null = a.object,
  uid: string = randomUUID(),
  version: 'v1' | 'v1beta1' = 'v1',
): AdmissionReviewRequest {
  const request = { uid, kind: gvk(a.kind), resource: gvr(a.resource) } as AdmissionRequest;
  if (a.subResource) request.subResource = a.subResource;
  request.requestKind = gvk(a.kind);
  request.requestResource = gvr(a.resource);
  if (a.subResource) request.requestSubResource = a.subResource;
  if (a.name) request.name = a.name;
  if (a.namespace) request.namespace = a.namespace;
  request.operation = a.operation;
  request.userInfo = userInfo(a.userInfo);
  request.object = object ?? null;
  request.oldObject = a.oldObject ?? null;
  request.dryRun = a.dryRun;
  request.options = a.options ?? null;
  return { kind: 'AdmissionReview', apiVersion: `admission.k8s.io/${version}`, request };
}

// The operation options the real server hands to admission, in Go field
// order. A PATCH arrives as UpdateOptions (or CreateOptions when an apply
// creates the object) carrying only dryRun, fieldManager and fieldValidation.

export interface CreateOrUpdateOptionsInput {
  dryRun?: string[];
  fieldManager?: string;
  fieldValidation?: string;
}

function writeOptions(kind: 'CreateOptions' | 'UpdateOptions', o: CreateOrUpdateOptionsInput) {
  const out: Record<string, unknown> = { kind, apiVersion: 'meta.k8s.io/v1' };
  if (o.dryRun && o.dryRun.length > 0) out.dryRun = [...o.dryRun];
  if (o.fieldManager) out.fieldManager = o.fieldManager;
  if (o.fieldValidation) out.fieldValidation = o.fieldValidation;
  return out;
}

export function createOptions(o: CreateOrUpdateOptionsInput = {}): object {
  return writeOptions('CreateOptions', o);
}

export function updateOptions(o: CreateOrUpdateOptionsInput = {}): object {
  return writeOptions('UpdateOptions', o);
}

export interface DeleteOptionsInput {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
  propagationPolicy?: string;
  dryRun?: string[];
}

export function deleteOptions(o: DeleteOptionsInput = {}): object {
  const out: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' };
  if (o.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.preconditions) out.preconditions = o.preconditions;
  if (o.orphanDependents !== undefined) out.orphanDependents = o.orphanDependents;
  if (o.propagationPolicy) out.propagationPolicy = o.propagationPolicy;
  if (o.dryRun && o.dryRun.length > 0) out.dryRun = [...o.dryRun];
  return out;
}
