// Labels on the objects Scribe's in-cluster server makes for a replication
// (copies, mover Jobs, endpoint Services, destination snapshots), so that the
// plugin finds them by selector as the server does.
import { shortened } from './values.ts';

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedBy = 'scribe';
export const componentLabel = 'app.kubernetes.io/component';
/** The name of the replicated PVC an object belongs to (see pvcLabelValue). */
export const pvcLabel = 'scribe.backube.io/pvc';

/**
 * The pvcLabel value for a PVC: its name, or, for a name longer than the 63
 * characters a label value may hold (a PVC name may hold 253), its first 54
 * characters and a hash of the whole. Every writer and every selector goes
 * through here, so both sides agree.
 */
export function pvcLabelValue(pvc: string): string {
  return shortened(pvc, 63);
}
export const syncIdLabel = 'scribe.backube.io/sync-id';
/**
 * The target (fan-out destination) a source-side object serves; objects made
 * before fan-out carry none and belong to the default target.
 */
export const targetLabel = 'scribe.backube.io/target';

/** The target an object serves, by its label (absent: the default target, `default`). */
export function targetOfObject(o: { metadata?: { labels?: Record<string, string> } }): string {
  return o.metadata?.labels?.[targetLabel] ?? 'default';
}

/** The components, as the server labels them. */
export const components = {
  /** A point-in-time copy of a source (clone PVC or VolumeSnapshot). */
  copy: 'copy',
  /** A destination snapshot taken after a complete transfer. */
  history: 'history',
  sender: 'sender',
  receiver: 'receiver',
  endpoint: 'endpoint',
  /** A destination's read-only copy: the claim readers mount. */
  exposed: 'exposed',
  /** A restore of a history snapshot that a scrub step rewrites. */
  staging: 'staging',
  /** The Job running the user's scrub step. */
  scrub: 'scrub',
  /** A snapshot of a scrubbed staging claim, what a scrubbed copy is restored from. */
  scrubbed: 'scrubbed',
} as const;

/** A label selector for one component of one replicated PVC. */
export function componentSelector(pvc: string, component: string): string {
  return `${pvcLabel}=${pvcLabelValue(pvc)},${componentLabel}=${component}`;
}
