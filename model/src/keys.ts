// The replication spec's annotation keys (v1). Every part of Scribe reads and
// writes them through this module only, so a key is spelled in one place.

/** Spec keys: written by the plugin (or a person with kubectl annotate). */
export const specPrefix = 'scribe.backube.io/';
/** Status keys: written only by Scribe's in-cluster server. */
export const statusPrefix = 'status.scribe.backube.io/';

export const specKeys = {
  replication: `${specPrefix}replication`,
  method: `${specPrefix}method`,
  destination: `${specPrefix}destination`,
  source: `${specPrefix}source`,
  endpoint: `${specPrefix}endpoint`,
  secret: `${specPrefix}secret`,
  volumeMode: `${specPrefix}volume-mode`,
  schedule: `${specPrefix}schedule`,
  paused: `${specPrefix}paused`,
  syncRequested: `${specPrefix}sync-requested`,
  liveRequiresRwo: `${specPrefix}live-requires-rwo`,
  snapshotsToKeep: `${specPrefix}snapshots-to-keep`,
  checksumEvery: `${specPrefix}checksum-every`,
  serviceType: `${specPrefix}service-type`,
  // A read-only copy of the newest destination snapshot, optionally scrubbed first.
  readOnlyCopy: `${specPrefix}read-only-copy`,
  readOnlyCopyAccessMode: `${specPrefix}read-only-copy-access-mode`,
  readOnlyCopyStorageClass: `${specPrefix}read-only-copy-storage-class`,
  scrubImage: `${specPrefix}scrub-image`,
  scrubCommand: `${specPrefix}scrub-command`,
  scrubTimeout: `${specPrefix}scrub-timeout`,
  scrubRunAsUser: `${specPrefix}scrub-run-as-user`,
  /** On a destination: which target of its source it is (absent: the default). */
  sourceTarget: `${specPrefix}source-target`,
  // Quiesce hooks (model/src/quiesce.ts): argv as JSON, run in the application's pods.
  quiesceCommand: `${specPrefix}quiesce-command`,
  unquiesceCommand: `${specPrefix}unquiesce-command`,
  quiesceContainer: `${specPrefix}quiesce-container`,
  quiesceTimeout: `${specPrefix}quiesce-timeout`,
} as const;

export const statusKeys = {
  lastSyncStart: `${statusPrefix}last-sync-start`,
  lastSyncEnd: `${statusPrefix}last-sync-end`,
  lastSyncDuration: `${statusPrefix}last-sync-duration`,
  lastSyncResult: `${statusPrefix}last-sync-result`,
  lastSyncError: `${statusPrefix}last-sync-error`,
  lastSyncBytes: `${statusPrefix}last-sync-bytes`,
  lastSyncFiles: `${statusPrefix}last-sync-files`,
  nextSync: `${statusPrefix}next-sync`,
  latestSnapshot: `${statusPrefix}latest-snapshot`,
  latestSnapshotTime: `${statusPrefix}latest-snapshot-time`,
  missedIntervals: `${statusPrefix}missed-intervals`,
  syncHandled: `${statusPrefix}sync-handled`,
  syncCount: `${statusPrefix}sync-count`,
  consecutiveFailures: `${statusPrefix}consecutive-failures`,
  // The destination's read-only copy: which history snapshot it holds, and the scrub step.
  readOnlyCopySnapshot: `${statusPrefix}read-only-copy-snapshot`,
  readOnlyCopySnapshotTime: `${statusPrefix}read-only-copy-snapshot-time`,
  readOnlyCopyRefreshed: `${statusPrefix}read-only-copy-refreshed`,
  readOnlyCopyPending: `${statusPrefix}read-only-copy-pending`,
  readOnlyCopyError: `${statusPrefix}read-only-copy-error`,
  scrubResult: `${statusPrefix}scrub-result`,
  scrubSnapshot: `${statusPrefix}scrub-snapshot`,
  scrubError: `${statusPrefix}scrub-error`,
  /** `ApplicationConsistent` or `CrashConsistent`: how the last sync's copy was made. */
  lastSyncConsistency: `${statusPrefix}last-sync-consistency`,
  /** While the application is quiesced: since when (RFC 3339), and which POD/CONTAINER. */
  quiescedAt: `${statusPrefix}quiesced-at`,
  quiescedPods: `${statusPrefix}quiesced-pods`,
  /** The unquiesce argv (JSON) that undoes it, as it was when the quiesce ran. */
  quiescedUndo: `${statusPrefix}quiesced-undo`,
  /** The last quiesce or unquiesce command that failed, and how. */
  quiesceError: `${statusPrefix}quiesce-error`,
} as const;

/** Status of a destination's own (the read-only copy's): never per target, so never suffixed. */
export const destinationStatusKeys: readonly string[] = [
  statusKeys.readOnlyCopySnapshot,
  statusKeys.readOnlyCopySnapshotTime,
  statusKeys.readOnlyCopyRefreshed,
  statusKeys.readOnlyCopyPending,
  statusKeys.readOnlyCopyError,
  statusKeys.scrubResult,
  statusKeys.scrubSnapshot,
  statusKeys.scrubError,
];

/** Keys only a source PVC may carry, and keys only a destination may carry. */
export const sourceOnlyKeys: readonly string[] = [
  specKeys.method,
  specKeys.destination,
  specKeys.endpoint,
  specKeys.volumeMode,
  specKeys.schedule,
  specKeys.paused,
  specKeys.syncRequested,
  specKeys.liveRequiresRwo,
  specKeys.checksumEvery,
  specKeys.quiesceCommand,
  specKeys.unquiesceCommand,
  specKeys.quiesceContainer,
  specKeys.quiesceTimeout,
];
export const destinationOnlyKeys: readonly string[] = [
  specKeys.source,
  specKeys.snapshotsToKeep,
  specKeys.serviceType,
  specKeys.readOnlyCopy,
  specKeys.readOnlyCopyAccessMode,
  specKeys.readOnlyCopyStorageClass,
  specKeys.scrubImage,
  specKeys.scrubCommand,
  specKeys.scrubTimeout,
  specKeys.scrubRunAsUser,
  specKeys.sourceTarget,
];

/** True for any key Scribe owns (spec or status). */
export function isScribeKey(key: string): boolean {
  return key.startsWith(specPrefix) || key.startsWith(statusPrefix);
}

/**
 * Records of disaster-recovery steps (failover), written by the plugin. A
 * prefix of their own: they are history, not spec, so the webhook's checks of
 * the spec keys never see them and disabling replication keeps them.
 */
export const drPrefix = 'dr.scribe.backube.io/';

export const drKeys = {
  /** When `kubectl scribe failover` made this claim the application's (RFC 3339). */
  failedOverAt: `${drPrefix}failed-over-at`,
  /** The source it was a replica of, `CONTEXT/NAMESPACE/PVC`. */
  failedOverFrom: `${drPrefix}failed-over-from`,
  /** The VolumeSnapshot its data came from, or `volume` when it kept its own. */
  failedOverData: `${drPrefix}failed-over-data`,
  /** On a destination claim kept by `failover --as`: the claim the data was restored into. */
  failedOverTo: `${drPrefix}failed-over-to`,
  /** On a primary's old claim retired by `kubectl scribe reverse` (RFC 3339). */
  reversedAt: `${drPrefix}reversed-at`,
  /** The claim that replicates into it since, `CONTEXT/NAMESPACE/PVC`. */
  reversedFrom: `${drPrefix}reversed-from`,
  /** On a claim being migrated: JSON of the workloads its cutover scaled to zero, to undo it. */
  migrationScaled: `${drPrefix}migration-scaled`,
  /** On a migrated claim: where its data went, `CONTEXT/NAMESPACE/PVC`, and when. */
  migratedTo: `${drPrefix}migrated-to`,
  migratedAt: `${drPrefix}migrated-at`,
  /** On the chosen snapshot while a failover replaces the claim: the claim to restore. */
  claimTemplate: `${drPrefix}claim-template`,
} as const;
