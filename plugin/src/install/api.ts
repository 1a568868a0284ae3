// The API calls install, uninstall and doctor make, over the plugin's KubeRest.
import type {
  V1Deployment,
  V1PersistentVolumeClaim,
  V1SelfSubjectAccessReview,
} from '@kubernetes/client-node';
import { isNotFound } from '../kube/api-errors.ts';
import { fieldManager, type KubeRest } from '../kube/rest.ts';
import { probeClaim, probeResult, type ProbeResult } from './readiness.ts';
import { installedKinds, partOfScribe } from './removal.ts';
import {
  collectionPath,
  kindOf,
  objectPath,
  type KindInfo,
  type ManifestObject,
} from './resources.ts';

const resourceOf = (k: KindInfo) =>
  k.apiVersion.includes('/') ? `${k.plural}.${k.apiVersion.split('/')[0]}` : k.plural;

export async function serverVersion(
  rest: KubeRest,
): Promise<{ major?: string; minor?: string; gitVersion?: string }> {
  return rest.request({
    method: 'GET',
    path: '/version',
    intent: { verb: 'get', resource: 'version' },
  });
}

/** Server-side apply as `kubectl apply --server-side --force-conflicts --field-manager kubectl-scribe`. */
export function applyObject(
  rest: KubeRest,
  o: ManifestObject,
  dryRun: boolean,
): Promise<ManifestObject> {
  const k = kindOf(o);
  return rest.request({
    method: 'PATCH',
    path: objectPath(o),
    // Install owns these objects: fields another manager took are taken back.
    query: { fieldManager, force: 'true', ...(dryRun ? { dryRun: 'All' } : {}) },
    body: o,
    contentType: 'application/apply-patch+yaml',
    intent: {
      verb: 'patch',
      resource: resourceOf(k),
      name: o.metadata.name,
      namespace: o.metadata.namespace,
    },
  });
}

export async function getObject<T = ManifestObject>(
  rest: KubeRest,
  o: Pick<ManifestObject, 'apiVersion' | 'kind' | 'metadata'>,
): Promise<T | undefined> {
  const k = kindOf(o);
  try {
    return await rest.request<T>({
      method: 'GET',
      path: objectPath(o as ManifestObject),
      intent: {
        verb: 'get',
        resource: resourceOf(k),
        name: o.metadata.name,
        namespace: o.metadata.namespace,
      },
    });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Objects of a kind carrying a label selector; none when the API does not serve the kind. */
export async function listLabelled(
  rest: KubeRest,
  k: KindInfo,
  labelSelector: string,
  namespace?: string,
): Promise<ManifestObject[]> {
  try {
    const list = await rest.request<{ items?: ManifestObject[] }>({
      method: 'GET',
      path: collectionPath(k, namespace),
      query: { labelSelector },
      intent: { verb: 'list', resource: resourceOf(k), namespace },
    });
    return (list.items ?? []).map((i) => ({ ...i, apiVersion: k.apiVersion, kind: k.kind }));
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

/** Deletes one object (its dependents in the background); false when it was gone already. */
export async function deleteObject(
  rest: KubeRest,
  o: ManifestObject,
  dryRun: boolean,
): Promise<boolean> {
  const k = kindOf(o);
  try {
    await rest.request({
      method: 'DELETE',
      path: objectPath(o),
      query: { propagationPolicy: 'Background', ...(dryRun ? { dryRun: 'All' } : {}) },
      intent: {
        verb: 'delete',
        resource: resourceOf(k),
        name: o.metadata.name,
        namespace: o.metadata.namespace,
      },
    });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

export function getDeployment(rest: KubeRest, namespace: string, name: string) {
  return getObject<V1Deployment>(rest, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
  });
}

/** A claim created with dryRun=All: the whole admission chain runs, nothing is stored. */
export function dryRunCreatePvc(
  rest: KubeRest,
  pvc: V1PersistentVolumeClaim,
): Promise<V1PersistentVolumeClaim> {
  const namespace = pvc.metadata?.namespace ?? 'default';
  return rest.request({
    method: 'POST',
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims`,
    query: { dryRun: 'All', fieldManager },
    body: pvc,
    intent: {
      verb: 'create',
      resource: 'persistentvolumeclaims',
      name: pvc.metadata?.name,
      namespace,
    },
  });
}

/** May the current user do this? (SelfSubjectAccessReview, what kubectl auth can-i asks.) */
export async function canI(
  rest: KubeRest,
  attrs: { verb: string; resource: string; group?: string; namespace?: string },
): Promise<{ allowed: boolean; reason?: string }> {
  const review = await rest.request<V1SelfSubjectAccessReview>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { ...attrs, group: attrs.group ?? '' } },
    },
    intent: { verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' },
  });
  return {
    allowed: review.status?.allowed === true,
    ...(review.status?.reason ? { reason: review.status.reason } : {}),
  };
}

/** Where the admission probe's dry-run claim goes: a namespace every cluster has, not excluded. */
export const probeNamespace = 'default';

/** Scribe's objects in the cluster: in its namespace and cluster-wide, by the manifests' label. */
export async function installedObjects(
  rest: KubeRest,
  namespace: string,
): Promise<ManifestObject[]> {
  const found: ManifestObject[] = [];
  for (const k of installedKinds()) {
    found.push(
      ...(await listLabelled(rest, k, partOfScribe, k.namespaced ? namespace : undefined)),
    );
  }
  return found;
}

export async function probeWebhook(rest: KubeRest, webhook: string): Promise<ProbeResult> {
  let outcome: unknown;
  try {
    outcome = await dryRunCreatePvc(rest, probeClaim(probeNamespace));
  } catch (e) {
    outcome = e;
  }
  return probeResult(webhook, outcome);
}
