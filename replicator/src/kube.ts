// The replicator's only door to the Kubernetes API: generic object calls with
// the patch content type that matches each body, and pod logs.
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';

export interface Kube {
  list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<T[]>;
  get<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ): Promise<T | undefined>;
  create<T extends KubernetesObject>(obj: T): Promise<T>;
  /** JSON merge patch (RFC 7386), sent as application/merge-patch+json. */
  mergePatch<T extends KubernetesObject>(obj: T, patch: object): Promise<T>;
  delete(obj: KubernetesObject): Promise<void>;
  podLog(namespace: string, pod: string, container: string): Promise<string>;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export function kubeFrom(kc: KubeConfig): Kube {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async list<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace?: string,
      labelSelector?: string,
      fieldSelector?: string,
    ) {
      const list = await objects.list<T>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector,
      );
      return list.items.map((o) => ({ apiVersion, kind, ...o }));
    },
    async get<T extends KubernetesObject>(
      apiVersion: string,
      kind: string,
      namespace: string,
      name: string,
    ) {
      try {
        return await objects.read<T>({ apiVersion, kind, metadata: { name, namespace } } as never);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (obj) => objects.create(obj),
    mergePatch: (obj, patch: { metadata?: object }) =>
      objects.patch(
        {
          ...patch,
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          // Name and namespace address the object; the rest is the patch.
          metadata: {
            ...patch.metadata,
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
          },
        } as never,
        undefined,
        undefined,
        'scribe-replicator',
        undefined,
        PatchStrategy.MergePatch,
      ),
    async delete(obj) {
      try {
        await objects.delete(obj, undefined, undefined, undefined, undefined, 'Background');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    podLog: (namespace, name, container) =>
      core.readNamespacedPodLog({ namespace, name, container }),
  };
}
