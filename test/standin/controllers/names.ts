// Names the stand-in's controllers share with real clusters' controllers.

/** The stand-in's CSI-like driver: StorageClass.provisioner and VolumeSnapshotClass.driver. */
export const DRIVER = 'standin.scribe.backube.io/local';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_DEFAULT_SNAPSHOT_CLASS = 'snapshot.storage.kubernetes.io/is-default-class';
export const ANN_DEFAULT_STORAGE_CLASS = 'storageclass.kubernetes.io/is-default-class';

export const FINALIZER_PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const FINALIZER_PV_PROTECTION = 'kubernetes.io/pv-protection';
export const FINALIZER_PROVISIONER = 'external-provisioner.volume.kubernetes.io/finalizer';
export const FINALIZER_SNAPSHOT_BOUND =
  'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
export const FINALIZER_CONTENT =
  'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';

/** StorageClass parameters saying what the class's volumes support ("true"/"false"; default "true"). */
export const PARAM_CLONE = 'clone';
export const PARAM_SNAPSHOT = 'snapshot';

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_VERSION = 'v1';
