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
