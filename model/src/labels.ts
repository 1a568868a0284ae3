// Labels on the objects Scribe's in-cluster server makes for a replication
// (copies, mover Jobs, endpoint Services, destination snapshots), so that the
// plugin finds them by selector as the server does.
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedBy = 'scribe';
export const componentLabel = 'app.kubernetes.io/component';
/** The name of the replicated PVC an object belongs to. */
export const pvcLabel = 'scribe.backube.io/pvc';
export const syncIdLabel = 'scribe.backube.io/sync-id';

/** The components, as the server labels them. */
export const components = {
  /** A point-in-time copy of a source (clone PVC or VolumeSnapshot). */
  copy: 'copy',
  /** A destination snapshot taken after a complete transfer. */
  history: 'history',
  sender: 'sender',
  receiver: 'receiver',
  endpoint: 'endpoint',
} as const;

/** A label selector for one component of one replicated PVC. */
export function componentSelector(pvc: string, component: string): string {
  return `${pvcLabel}=${pvc},${componentLabel}=${component}`;
}
