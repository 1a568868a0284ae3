// The kinds Scribe's manifests hold and where each lives in the API (pure).
// A fixed table rather than discovery: install and uninstall touch exactly
// these kinds, and an unknown kind in a build is a packaging mistake.
import { CliError } from '../errors.ts';

/** An object as kustomize renders it. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KindInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const kinds: readonly KindInfo[] = [
  { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true },
  {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', namespaced: true },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    namespaced: true,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  // overlays/cert-manager
  {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    plural: 'certificates',
    namespaced: true,
  },
  { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', plural: 'issuers', namespaced: true },
];

export function kindOf(o: Pick<ManifestObject, 'apiVersion' | 'kind'>): KindInfo {
  const k = kinds.find((x) => x.apiVersion === o.apiVersion && x.kind === o.kind);
  if (!k)
    throw new CliError(
      `the manifests hold a ${o.kind} (${o.apiVersion}), which kubectl scribe install does not know`,
    );
  return k;
}

/** The collection path of a kind (in a namespace when it is namespaced). */
export function collectionPath(k: KindInfo, namespace?: string): string {
  const base = k.apiVersion.includes('/') ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  return k.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.plural}`
    : `${base}/${k.plural}`;
}

export function objectPath(o: ManifestObject): string {
  const k = kindOf(o);
  return `${collectionPath(k, o.metadata.namespace)}/${encodeURIComponent(o.metadata.name)}`;
}

/** How kubectl names an object in its reports: deployment.apps/scribe-webhook. */
export function displayName(o: Pick<ManifestObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}`;
}

/** The namespace install creates (the one Namespace in the build). */
export function installNamespace(objects: readonly ManifestObject[]): string {
  const ns = objects.find((o) => o.kind === 'Namespace');
  if (!ns) throw new CliError('the manifests hold no Namespace');
  return ns.metadata.name;
}

/** The namespace Scribe's manifests create (uninstall and doctor look there). */
export const scribeNamespace = 'scribe-system';
