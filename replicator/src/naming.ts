// Names and labels of the objects Scribe creates for a replication. Names are
// derived, not random, so a restarted server finds what it made before.
import { createHash } from 'node:crypto';

import {
  componentLabel,
  defaultTarget,
  managedBy,
  managedByLabel,
  pvcLabel,
  targetLabel,
} from '../../model/src/index.ts';

// The labels are the model's: the plugin selects what the server made by them.
export {
  componentLabel,
  managedBy,
  managedByLabel,
  pvcLabel,
  syncIdLabel,
  targetLabel,
  targetOfObject,
} from '../../model/src/index.ts';

/** A DNS-1123 name from a prefix and parts, shortened with a hash when too long. */
export function objectName(prefix: string, ...parts: string[]): string {
  const name = [prefix, ...parts].join('-');
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 63 - 9).replace(/-+$/, '')}-${hash}`;
}

/** A sync's id: the time it started, sortable and readable. */
export function syncIdAt(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
}

export function labelsFor(pvc: string, component: string): Record<string, string> {
  return { [managedByLabel]: managedBy, [componentLabel]: component, [pvcLabel]: pvc };
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
 * The name parts that set one target's objects apart: none for the default
 * target (its objects keep the names they had before fan-out), else the
 * target's name, so two targets syncing in the same second never collide.
 */
export function targetParts(target: string): string[] {
  return target === defaultTarget ? [] : [target];
}
