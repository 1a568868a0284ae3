// The resources Scribe reads and writes in one cluster, over KubeRest.
// Annotation changes go as JSON merge patches with the matching Content-Type,
// as `kubectl annotate` sends them.
import type {
  V1Deployment,
  V1JobList,
  V1ReplicaSetList,
  V1PodList,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimList,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceList,
  V1StorageClass,
  V1StorageClassList,
  V1ValidatingWebhookConfigurationList,
  V1MutatingWebhookConfigurationList,
  V1NodeList,
} from '@kubernetes/client-node';
import { isNotFound } from './api-errors.ts';
import { fieldManager, KubeRest, patchContentType } from './rest.ts';

/** A VolumeSnapshotClass (snapshot.storage.k8s.io/v1, a CRD: no model in the library). */
export interface VolumeSnapshotClass {
  metadata: { name: string; annotations?: Record<string, string> };
  driver: string;
  deletionPolicy?: string;
}

/** A VolumeSnapshot (snapshot.storage.k8s.io/v1, a CRD): the fields Scribe reads. */
export interface VolumeSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { source?: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: { readyToUse?: boolean; creationTime?: string; restoreSize?: string };
}

const ns = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
const nsApps = (namespace: string) => `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}`;
const nsBatch = (namespace: string) => `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}`;
const nsSnapshots = (namespace: string) =>
  `/apis/snapshot.storage.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}`;
const enc = encodeURIComponent;

export type AnnotationPatch = Record<string, string | null>;

export class Cluster {
  readonly rest: KubeRest;
  constructor(rest: KubeRest) {
    this.rest = rest;
  }

  get context(): string {
    return this.rest.context;
  }

  get namespace(): string {
    return this.rest.namespace;
  }

  getPvc(namespace: string, name: string): Promise<V1PersistentVolumeClaim> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/persistentvolumeclaims/${enc(name)}`,
      intent: { verb: 'get', resource: 'persistentvolumeclaims', name, namespace },
    });
  }

  async findPvc(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    try {
      return await this.getPvc(namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** PVCs of one namespace, or of all when namespace is undefined. */
  listPvcs(namespace: string | undefined): Promise<V1PersistentVolumeClaimList> {
    return this.rest.request({
      method: 'GET',
      path: namespace
        ? `${ns(namespace)}/persistentvolumeclaims`
        : '/api/v1/persistentvolumeclaims',
      intent: { verb: 'list', resource: 'persistentvolumeclaims', namespace },
    });
  }

  createPvc(pvc: V1PersistentVolumeClaim): Promise<V1PersistentVolumeClaim> {
    const namespace = pvc.metadata?.namespace ?? this.namespace;
    return this.rest.request({
      method: 'POST',
      path: `${ns(namespace)}/persistentvolumeclaims`,
      query: { fieldManager },
      body: pvc,
      intent: {
        verb: 'create',
        resource: 'persistentvolumeclaims',
        name: pvc.metadata?.name,
        namespace,
      },
    });
  }

  /** Sets (string) or removes (null) annotations: a merge patch, as kubectl annotate sends. */
  annotatePvc(
    namespace: string,
    name: string,
    annotations: AnnotationPatch,
  ): Promise<V1PersistentVolumeClaim> {
    return this.rest.request({
      method: 'PATCH',
      path: `${ns(namespace)}/persistentvolumeclaims/${enc(name)}`,
      query: { fieldManager },
      body: { metadata: { annotations } },
      contentType: patchContentType.merge,
      intent: { verb: 'patch', resource: 'persistentvolumeclaims', name, namespace },
    });
  }

  deletePvc(namespace: string, name: string): Promise<unknown> {
    return this.rest.request({
      method: 'DELETE',
      path: `${ns(namespace)}/persistentvolumeclaims/${enc(name)}`,
      intent: { verb: 'delete', resource: 'persistentvolumeclaims', name, namespace },
    });
  }

  getStorageClass(name: string): Promise<V1StorageClass> {
    return this.rest.request({
      method: 'GET',
      path: `/apis/storage.k8s.io/v1/storageclasses/${enc(name)}`,
      intent: { verb: 'get', resource: 'storageclasses.storage.k8s.io', name },
    });
  }

  listStorageClasses(): Promise<V1StorageClassList> {
    return this.rest.request({
      method: 'GET',
      path: '/apis/storage.k8s.io/v1/storageclasses',
      intent: { verb: 'list', resource: 'storageclasses.storage.k8s.io' },
    });
  }

  /** VolumeSnapshotClasses; none when the snapshot CRDs are not installed. */
  async listVolumeSnapshotClasses(): Promise<VolumeSnapshotClass[]> {
    try {
      const list = await this.rest.request<{ items?: VolumeSnapshotClass[] }>({
        method: 'GET',
        path: '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses',
        intent: { verb: 'list', resource: 'volumesnapshotclasses.snapshot.storage.k8s.io' },
      });
      return list.items ?? [];
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
  }

  getSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/secrets/${enc(name)}`,
      intent: { verb: 'get', resource: 'secrets', name, namespace },
    });
  }

  createSecret(secret: V1Secret): Promise<V1Secret> {
    const namespace = secret.metadata?.namespace ?? this.namespace;
    return this.rest.request({
      method: 'POST',
      path: `${ns(namespace)}/secrets`,
      query: { fieldManager },
      body: secret,
      intent: { verb: 'create', resource: 'secrets', name: secret.metadata?.name, namespace },
    });
  }

  /** A Role or RoleBinding (rbac.authorization.k8s.io/v1) in its namespace. */
  createRbac<T extends V1Role | V1RoleBinding>(o: T): Promise<T> {
    const namespace = o.metadata?.namespace ?? this.namespace;
    const resource = o.kind === 'Role' ? 'roles' : 'rolebindings';
    return this.rest.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${enc(namespace)}/${resource}`,
      query: { fieldManager },
      body: o,
      intent: {
        verb: 'create',
        resource: `${resource}.rbac.authorization.k8s.io`,
        name: o.metadata?.name,
        namespace,
      },
    });
  }

  deleteRbac(o: V1Role | V1RoleBinding): Promise<unknown> {
    const namespace = o.metadata?.namespace ?? this.namespace;
    const resource = o.kind === 'Role' ? 'roles' : 'rolebindings';
    const name = o.metadata?.name ?? '';
    return this.rest.request({
      method: 'DELETE',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${enc(namespace)}/${resource}/${enc(name)}`,
      intent: {
        verb: 'delete',
        resource: `${resource}.rbac.authorization.k8s.io`,
        name,
        namespace,
      },
    });
  }

  deleteSecret(namespace: string, name: string): Promise<unknown> {
    return this.rest.request({
      method: 'DELETE',
      path: `${ns(namespace)}/secrets/${enc(name)}`,
      intent: { verb: 'delete', resource: 'secrets', name, namespace },
    });
  }

  getDeployment(namespace: string, name: string): Promise<V1Deployment> {
    return this.rest.request({
      method: 'GET',
      path: `${nsApps(namespace)}/deployments/${enc(name)}`,
      intent: { verb: 'get', resource: 'deployments.apps', name, namespace },
    });
  }

  createDeployment(d: V1Deployment): Promise<V1Deployment> {
    const namespace = d.metadata?.namespace ?? this.namespace;
    return this.rest.request({
      method: 'POST',
      path: `${nsApps(namespace)}/deployments`,
      query: { fieldManager },
      body: d,
      intent: { verb: 'create', resource: 'deployments.apps', name: d.metadata?.name, namespace },
    });
  }

  deleteDeployment(namespace: string, name: string): Promise<unknown> {
    return this.rest.request({
      method: 'DELETE',
      path: `${nsApps(namespace)}/deployments/${enc(name)}`,
      query: { propagationPolicy: 'Background' },
      intent: { verb: 'delete', resource: 'deployments.apps', name, namespace },
    });
  }

  getService(namespace: string, name: string): Promise<V1Service> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/services/${enc(name)}`,
      intent: { verb: 'get', resource: 'services', name, namespace },
    });
  }

  listServices(namespace: string): Promise<V1ServiceList> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/services`,
      intent: { verb: 'list', resource: 'services', namespace },
    });
  }

  createService(s: V1Service): Promise<V1Service> {
    const namespace = s.metadata?.namespace ?? this.namespace;
    return this.rest.request({
      method: 'POST',
      path: `${ns(namespace)}/services`,
      query: { fieldManager },
      body: s,
      intent: { verb: 'create', resource: 'services', name: s.metadata?.name, namespace },
    });
  }

  deleteService(namespace: string, name: string): Promise<unknown> {
    return this.rest.request({
      method: 'DELETE',
      path: `${ns(namespace)}/services/${enc(name)}`,
      intent: { verb: 'delete', resource: 'services', name, namespace },
    });
  }

  /** Services of one namespace matching a label selector. */
  listServicesSelected(namespace: string, labelSelector: string): Promise<V1ServiceList> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/services`,
      query: { labelSelector },
      intent: { verb: 'list', resource: 'services', namespace },
    });
  }

  listVolumeSnapshots(
    namespace: string,
    labelSelector: string,
  ): Promise<{ items: VolumeSnapshot[] }> {
    return this.rest.request({
      method: 'GET',
      path: `${nsSnapshots(namespace)}/volumesnapshots`,
      query: { labelSelector },
      intent: { verb: 'list', resource: 'volumesnapshots.snapshot.storage.k8s.io', namespace },
    });
  }

  annotateVolumeSnapshot(
    namespace: string,
    name: string,
    annotations: AnnotationPatch,
  ): Promise<VolumeSnapshot> {
    return this.rest.request({
      method: 'PATCH',
      path: `${nsSnapshots(namespace)}/volumesnapshots/${enc(name)}`,
      query: { fieldManager },
      body: { metadata: { annotations } },
      contentType: patchContentType.merge,
      intent: {
        verb: 'patch',
        resource: 'volumesnapshots.snapshot.storage.k8s.io',
        name,
        namespace,
      },
    });
  }

  listJobs(namespace: string, labelSelector: string): Promise<V1JobList> {
    return this.rest.request({
      method: 'GET',
      path: `${nsBatch(namespace)}/jobs`,
      query: { labelSelector },
      intent: { verb: 'list', resource: 'jobs.batch', namespace },
    });
  }

  /** Deletes a Job and (in the background) its pods, as kubectl delete job does. */
  deleteJob(namespace: string, name: string): Promise<unknown> {
    return this.rest.request({
      method: 'DELETE',
      path: `${nsBatch(namespace)}/jobs/${enc(name)}`,
      query: { propagationPolicy: 'Background' },
      intent: { verb: 'delete', resource: 'jobs.batch', name, namespace },
    });
  }

  listPods(namespace: string, labelSelector: string): Promise<V1PodList> {
    return this.rest.request({
      method: 'GET',
      path: `${ns(namespace)}/pods`,
      query: { labelSelector },
      intent: { verb: 'list', resource: 'pods', namespace },
    });
  }

  listReplicaSets(namespace: string): Promise<V1ReplicaSetList> {
    return this.rest.request({
      method: 'GET',
      path: `${nsApps(namespace)}/replicasets`,
      intent: { verb: 'list', resource: 'replicasets.apps', namespace },
    });
  }

  /** A workload's replicas (apps/v1 Deployment, StatefulSet or ReplicaSet). */
  async getReplicas(namespace: string, kind: string, name: string): Promise<number> {
    const w = await this.rest.request<{ spec?: { replicas?: number } }>({
      method: 'GET',
      path: `${nsApps(namespace)}/${kind.toLowerCase()}s/${enc(name)}`,
      intent: { verb: 'get', resource: `${kind.toLowerCase()}s.apps`, name, namespace },
    });
    return w.spec?.replicas ?? 1;
  }

  /** Sets a workload's replicas with a merge patch, as kubectl scale --replicas does in effect. */
  setReplicas(namespace: string, kind: string, name: string, replicas: number): Promise<unknown> {
    return this.rest.request({
      method: 'PATCH',
      path: `${nsApps(namespace)}/${kind.toLowerCase()}s/${enc(name)}`,
      query: { fieldManager },
      body: { spec: { replicas } },
      contentType: patchContentType.merge,
      intent: { verb: 'patch', resource: `${kind.toLowerCase()}s.apps`, name, namespace },
    });
  }

  listNodes(): Promise<V1NodeList> {
    return this.rest.request({
      method: 'GET',
      path: '/api/v1/nodes',
      intent: { verb: 'list', resource: 'nodes' },
    });
  }

  /** Names of the webhooks registered (validating and mutating). */
  async webhookNames(): Promise<string[]> {
    const [v, m] = await Promise.all([
      this.rest.request<V1ValidatingWebhookConfigurationList>({
        method: 'GET',
        path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
        intent: {
          verb: 'list',
          resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
        },
      }),
      this.rest.request<V1MutatingWebhookConfigurationList>({
        method: 'GET',
        path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
        intent: {
          verb: 'list',
          resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
        },
      }),
    ]);
    return [...(v.items ?? []), ...(m.items ?? [])].flatMap((c) =>
      (c.webhooks ?? []).map((w) => w.name),
    );
  }

  close(): void {
    this.rest.close();
  }
}
