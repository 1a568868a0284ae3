// The method catalog: Scribe's own replication methods, registered once. A
// method name nobody registered belongs to a storage vendor's operator, and
// Scribe leaves such a PVC alone.

export type MethodName = 'live' | 'snapshot' | 'clone';

export interface MethodInfo {
  name: MethodName;
  /** Higher is more efficient; `auto` picks the highest the storage supports. */
  efficiency: number;
  /** Whether the copy is a point in time of the whole volume. */
  crashConsistent: boolean;
  /** What the source's storage must offer. */
  needs: 'nothing' | 'clone' | 'snapshot';
  summary: string;
}

export const methods: readonly MethodInfo[] = [
  {
    name: 'live',
    efficiency: 1,
    crashConsistent: false,
    needs: 'nothing',
    summary: 'a sidecar copies the mounted volume while the app writes (not crash-consistent)',
  },
  {
    name: 'snapshot',
    efficiency: 2,
    crashConsistent: true,
    needs: 'snapshot',
    summary: 'a VolumeSnapshot, restored to a temporary PVC, is copied',
  },
  {
    name: 'clone',
    efficiency: 3,
    crashConsistent: true,
    needs: 'clone',
    summary: 'a CSI clone of the PVC is copied',
  },
];

export function knownMethod(name: string): MethodInfo | undefined {
  return methods.find((m) => m.name === name);
}

/** What the source's storage evidently supports. */
export interface StorageCapabilities {
  clone: boolean;
  snapshot: boolean;
}

export function supports(method: MethodInfo, cap: StorageCapabilities): boolean {
  return method.needs === 'nothing' || cap[method.needs];
}

/** The most efficient supported method, and why, for `--method auto`. */
export function pickMethod(cap: StorageCapabilities): { method: MethodName; reason: string } {
  const best = [...methods]
    .sort((a, b) => b.efficiency - a.efficiency)
    .find((m) => supports(m, cap)) as MethodInfo;
  const reason =
    best.name === 'clone'
      ? 'the StorageClass supports volume cloning, the most efficient method'
      : best.name === 'snapshot'
        ? 'the StorageClass cannot clone but has a VolumeSnapshotClass'
        : 'the StorageClass supports neither cloning nor snapshots; live copy is not crash-consistent';
  return { method: best.name, reason };
}

/** Supported methods other than `method`, best first: what to suggest instead. */
export function fallbacks(method: MethodName, cap: StorageCapabilities): MethodName[] {
  return [...methods]
    .sort((a, b) => b.efficiency - a.efficiency)
    .filter((m) => m.name !== method && supports(m, cap))
    .map((m) => m.name);
}
