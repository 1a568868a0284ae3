// Names and labels of the objects Scribe creates for a replication. Names are
// derived, not random, so a restarted server finds what it made before.
import { createHash } from 'node:crypto';

import {
  componentLabel,
  defaultTarget,
  managedBy,
  managedByLabel,
  pvcLabel,
  pvcLabelValue,
  targetLabel,
} from '../../model/src/index.ts';

// The labels are the model's: the plugin selects what the server made by them.
export {
  componentLabel,
  managedBy,
  managedByLabel,
  pvcLabel,
  pvcLabelValue,
  syncIdLabel,
  targetLabel,
  targetOfObject,
} from '../../model/src/index.ts';

/**
 * A DNS-1123 label from a prefix and parts, shortened with a hash when too
 * long. A PVC name may have dots, which a Service's name may not: they become
 * dashes, and the hash (of the name with its dots) keeps "db.main" and
 * "db-main" apart.
 */
export function objectName(prefix: string, ...parts: string[]): string {
  const name = [prefix, ...parts].join('-');
  const label = name.replace(/\./g, '-');
  if (label === name && name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${label.slice(0, 63 - 9).replace(/-+$/, '')}-${hash}`;
}

/** A sync's id: the time it started, sortable and readable. */
export function syncIdAt(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
}

/**
 * The first sync id from `time` on that `used` does not hold. Ids are
 * second-granular: a receiver started in the second its predecessor started
 * (after a sync done within that second) would share its name and its
 * snapshot's, and the second sync would get no snapshot of its own.
 */
export function freshSyncId(time: Date, used: ReadonlySet<string>): string {
  for (let t = time.getTime(); ; t += 1000) {
    const id = syncIdAt(new Date(t));
    if (!used.has(id)) return id;
  }
}

export function labelsFor(pvc: string, component: string): Record<string, string> {
  return {
    [managedByLabel]: managedBy,
    [componentLabel]: component,
    [pvcLabel]: pvcLabelValue(pvc),
  };
}

/** The labels of a source-side object that serves one target. */
export function targetLabelsFor(
  pvc: string,
  component: string,
  target: string,
): Record<string, string> {
  return { ...labelsFor(pvc, component), [targetLabel]: target };
}

/**
 * The name of a source-side object of one sync of one target (`kind`:
 * clone, restore, snap, send). The default target's keep the names they had
 * before fan-out, `scribe-KIND-PVC-SYNCID`; a further target's are
 * `scribe-t-KIND-TARGET-PVC-HASH-SYNCID`, HASH from TARGET.PVC (the target, a
 * DNS label, ends at the dot), so no other PVC's or target's sync has the
 * same name: with dashes alone, PVC "data" target "lake" and PVC "data-lake"
 * would clash whenever both sync in the same second, as schedules on the
 * minute do. No dots: a Job's name becomes its pods' hostname.
 */
export function syncObjectName(kind: string, pvc: string, target: string, syncId: string): string {
  if (target === defaultTarget) return objectName(`scribe-${kind}`, pvc, syncId);
  const hash = createHash('sha256').update(`${target}.${pvc}`).digest('hex').slice(0, 8);
  return objectName(`scribe-t-${kind}`, target, pvc, hash, syncId);
}
