// The replicator's finalizer on the claims it replicates. Owner references
// let the garbage collector remove copies and Jobs once a claim is gone, but
// not when replication is only disabled (the claim stays), and not for a
// destination whose receiver Job still mounts it (the claim's pvc-protection
// waits for the pod, the Job waits for the claim). With the finalizer the
// replicator removes them itself, then lets the claim go. The user's claim,
// its data and the destination's snapshot history are never deleted.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { knownMethod, type ReplicationSpec } from '../../model/src/index.ts';
import type { VolumeSnapshot } from './objects.ts';
import { component, type Owned } from './owned.ts';

export const finalizer = 'scribe.backube.io/cleanup';

export type Lifecycle =
  | { kind: 'skip' }
  /** Remove what Scribe made for the claim, then the finalizer. */
  | { kind: 'clean-up' }
  /** Reconcile; `adopt`: add the finalizer first. */
  | { kind: 'reconcile'; adopt: boolean };

export function holdsFinalizer(pvc: V1PersistentVolumeClaim): boolean {
  return pvc.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Whether the replicator makes objects for this spec (a live or vendor method makes none). */
function makesObjects(spec: ReplicationSpec): boolean {
  if (spec.role === 'destination') return true;
  const m = knownMethod(spec.method);
  return m !== undefined && m.name !== 'live';
}

/**
 * What a pass does with one claim. Pure. `spec` is undefined for a claim
 * without a valid spec: an invalid spec (a user mid-edit) is left alone, not
 * taken as disabled.
 */
export function decideLifecycle(
  pvc: V1PersistentVolumeClaim,
  enabled: boolean,
  spec: ReplicationSpec | undefined,
): Lifecycle {
  const held = holdsFinalizer(pvc);
  if (pvc.metadata?.deletionTimestamp || !enabled)
    return held ? { kind: 'clean-up' } : { kind: 'skip' };
  if (!spec) return { kind: 'skip' };
  return { kind: 'reconcile', adopt: !held && makesObjects(spec) };
}

/**
 * What clean-up deletes: copies, mover and scrub Jobs, endpoints, the read-only
 * copy (a pod that mounts it keeps it until it stops: pvc-protection); never
 * the history snapshots. Pure.
 */
export function cleanupTargets(
  owned: Owned,
): (
  Owned['jobs'][number] | Owned['claims'][number] | VolumeSnapshot | Owned['services'][number]
)[] {
  return [
    ...owned.jobs,
    ...component(owned.claims, 'copy'),
    ...component(owned.snapshots, 'copy'),
    ...owned.services,
    // The read-only copy and its scrub work (owned.jobs holds the scrub Jobs).
    ...component(owned.claims, 'staging'),
    ...component(owned.claims, 'exposed'),
    ...component(owned.snapshots, 'scrubbed'),
  ];
}

/**
 * A merge patch that adds or removes the finalizer. A merge patch replaces
 * the whole list, so it carries the resourceVersion it was computed from: if
 * another controller changed the finalizers meanwhile, the API answers 409
 * and the next pass tries again.
 */
export function finalizerPatch(
  pvc: V1PersistentVolumeClaim,
  add: boolean,
): { metadata: { finalizers: string[]; resourceVersion?: string } } {
  const others = (pvc.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  return {
    metadata: {
      finalizers: add ? [...others, finalizer] : others,
      resourceVersion: pvc.metadata?.resourceVersion,
    },
  };
}
