// Garbage-collection decisions, as pure functions over a snapshot of the
// cluster: which dependents an owner has, which objects lost all their owners,
// which owner references dangle. The registry carries the decisions out
// through the API path, as kube-controller-manager does.
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { KubeObject } from './admission-seam.ts';
import type { ResourceType } from './resources.ts';

export interface Located {
  rt: ResourceType;
  object: KubeObject;
}

export function dependentsOf(ownerUid: string, all: Located[]): Located[] {
  return all.filter((l) =>
    (l.object.metadata?.ownerReferences ?? []).some((r) => r.uid === ownerUid),
  );
}

export type OwnerVerdict =
  { action: 'none' } | { action: 'delete' } | { action: 'dropRefs'; keep: V1OwnerReference[] };

/**
 * What the collector does with an object given the live uids: delete it when
 * every owner is gone, drop the dangling references when some owner remains.
 */
export function ownerVerdict(obj: KubeObject, liveUids: Set<string>): OwnerVerdict {
  const refs = obj.metadata?.ownerReferences ?? [];
  if (refs.length === 0 || obj.metadata?.deletionTimestamp) return { action: 'none' };
  const keep = refs.filter((r) => liveUids.has(r.uid));
  if (keep.length === 0) return { action: 'delete' };
  if (keep.length < refs.length) return { action: 'dropRefs', keep };
  return { action: 'none' };
}

export type Propagation = 'Foreground' | 'Background' | 'Orphan';

/** The default policy when a DELETE names none: batch/v1 Jobs orphan their pods (kept for compatibility). */
export function defaultPropagation(rt: ResourceType, orphanDependents?: boolean): Propagation {
  if (orphanDependents === true) return 'Orphan';
  if (orphanDependents === false) return 'Background';
  return rt.group === 'batch' && rt.resource === 'jobs' ? 'Orphan' : 'Background';
}

/** The finalizer a propagation policy adds to the owner while it waits. */
export function propagationFinalizer(p: Propagation): string | undefined {
  if (p === 'Foreground') return 'foregroundDeletion';
  if (p === 'Orphan') return 'orphan';
  return undefined;
}

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

/** A scheduled, not yet finished pod that mounts the claim keeps it (pvc-protection-controller). */
export function claimInUse(namespace: string, claim: string, all: Located[]): boolean {
  return all.some(({ rt, object }) => {
    if (rt.group !== '' || rt.resource !== 'pods' || object.metadata?.namespace !== namespace)
      return false;
    const pod = object as {
      spec?: { nodeName?: string; volumes?: { persistentVolumeClaim?: { claimName?: string } }[] };
      status?: { phase?: string };
    };
    if (!pod.spec?.nodeName) return false;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
    return (pod.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim);
  });
}

/** The protection finalizer the storage-protection controllers would drop now, if any. */
export function removableProtection(l: Located, all: Located[]): string | undefined {
  const meta = l.object.metadata;
  if (!meta?.deletionTimestamp) return undefined;
  const finalizers = meta.finalizers ?? [];
  if (
    l.rt.group === '' &&
    l.rt.resource === 'persistentvolumeclaims' &&
    finalizers.includes(PVC_PROTECTION)
  ) {
    return claimInUse(meta.namespace ?? '', meta.name ?? '', all) ? undefined : PVC_PROTECTION;
  }
  if (
    l.rt.group === '' &&
    l.rt.resource === 'persistentvolumes' &&
    finalizers.includes(PV_PROTECTION)
  ) {
    const phase = (l.object as { status?: { phase?: string } }).status?.phase;
    return phase === 'Bound' ? undefined : PV_PROTECTION;
  }
  return undefined;
}
