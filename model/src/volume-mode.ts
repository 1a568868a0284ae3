// Only the volume mode must match between source and destination: access
// modes, StorageClasses and CSI drivers may all differ.
import type { VolumeMode } from './values.ts';

/** A PVC's volume mode; the API server defaults an absent one to Filesystem. */
export function volumeModeOf(pvc: { spec?: { volumeMode?: string } }): VolumeMode {
  return pvc.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem';
}

/** Why two volume modes cannot replicate, or undefined when they can. */
export function volumeModeMismatch(
  source: VolumeMode,
  destination: VolumeMode,
): string | undefined {
  if (source === destination) return undefined;
  return (
    `the source volume mode is ${source} but the destination's is ${destination}: ` +
    'Scribe replicates only between PVCs of the same volume mode (access modes, ' +
    'StorageClasses and drivers may differ)'
  );
}

/** Whether a PVC may be written by only one node at a time (the live copy's premise). */
export function isSingleWriter(pvc: { spec?: { accessModes?: string[] } }): boolean {
  const modes = pvc.spec?.accessModes ?? [];
  return modes.length > 0 && modes.every((m) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod');
}
