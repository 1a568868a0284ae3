// What a StorageClass evidently supports, from objects a user can read. There
// is no API that states clone support, so the rule is explicit and documented:
// - snapshot: a VolumeSnapshotClass exists for the StorageClass's driver;
// - clone: the provisioner is a CSI driver (in-tree `kubernetes.io/*` and
//   local-path provisioners cannot clone), except drivers known to lack
//   CLONE_VOLUME.
import type { V1StorageClass } from '@kubernetes/client-node';
import type { StorageCapabilities } from '../../../model/src/index.ts';
import type { VolumeSnapshotClass } from '../kube/cluster.ts';

/** CSI drivers that do not implement volume cloning. */
export const driversWithoutClone: readonly string[] = [
  'ebs.csi.aws.com',
  'efs.csi.aws.com',
  'fsx.csi.aws.com',
  'secrets-store.csi.k8s.io',
];

const notCsi = (p: string) =>
  p.startsWith('kubernetes.io/') ||
  p === 'rancher.io/local-path' ||
  p.endsWith('/no-provisioner') ||
  !p.includes('.');

export function capabilitiesOf(
  sc: V1StorageClass | undefined,
  snapshotClasses: readonly VolumeSnapshotClass[],
): StorageCapabilities & { driver?: string; why: string } {
  if (!sc) {
    return { clone: false, snapshot: false, why: 'the PVC has no StorageClass' };
  }
  const driver = sc.provisioner;
  const snapshot = snapshotClasses.some((c) => c.driver === driver);
  const clone = !notCsi(driver) && !driversWithoutClone.includes(driver);
  const parts = [
    clone ? `${driver} is a CSI driver that can clone` : `${driver} cannot clone`,
    snapshot
      ? `VolumeSnapshotClass ${snapshotClasses.find((c) => c.driver === driver)!.metadata.name} serves it`
      : 'no VolumeSnapshotClass serves it',
  ];
  return { clone, snapshot, driver, why: parts.join('; ') };
}

/** The default StorageClass, as the API server picks it for a PVC without one. */
export function defaultStorageClass(
  classes: readonly V1StorageClass[],
): V1StorageClass | undefined {
  const isDefault = (c: V1StorageClass) =>
    c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
  return classes
    .filter(isDefault)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
}
