// What `kubectl scribe failover pvc` does at the DR site, decided from what the
// cluster holds: which data the application gets (the newest complete
// destination snapshot, a named one, or the destination volume as it is),
// which claim it gets it in, and what stops replication into it. Pure; the
// action carries the plan out step by step. Every step can be repeated, and
// a failover cut off between deleting the destination claim and restoring it
// resumes from the template it left on the snapshot.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  components,
  componentLabel,
  componentSelector,
  disableAnnotationsPatch,
  drKeys,
  managedByLabel,
  parseSpec,
  pvcLabel,
  renderPvcRef,
  type PvcRef,
} from '../../../model/src/index.ts';
import { CliError } from '../errors.ts';
import type { AnnotationPatch, VolumeSnapshot } from '../kube/cluster.ts';
import { parseQuantity } from './quantity.ts';

export type FailoverData = 'snapshot' | 'volume';

export interface FailoverRequest {
  /** The destination PVC at the DR site. */
  name: string;
  namespace: string;
  context: string;
  from: FailoverData;
  /** --snapshot: a destination snapshot other than the newest. */
  snapshot?: string | undefined;
  /** --as: restore into a new claim of this name and keep the destination claim. */
  as?: string | undefined;
  /** The volume is known complete (fail back after a successful final sync). */
  volumeComplete?: boolean;
  now: string;
}

export interface FailoverState {
  /** The destination claim, if it exists. */
  claim: V1PersistentVolumeClaim | undefined;
  /** With --as: the claim of that name, if it exists. */
  asClaim?: V1PersistentVolumeClaim | undefined;
  /** The destination's snapshots (component=history) of this PVC. */
  snapshots: readonly VolumeSnapshot[];
}

/** What a replaced claim looked like: written on the snapshot before the claim is deleted. */
export interface ClaimTemplate {
  source: string;
  at: string;
  labels?: Record<string, string>;
  spec: Pick<
    NonNullable<V1PersistentVolumeClaim['spec']>,
    'accessModes' | 'storageClassName' | 'volumeMode' | 'resources'
  >;
}

export interface FailoverSteps {
  kind: 'steps';
  source: string;
  /** Which target of its (fan-out) source the destination was; absent for the default. */
  sourceTarget?: string;
  /** The data the application gets: a VolumeSnapshot's name, or `volume`. */
  data: string;
  snapshot?: VolumeSnapshot;
  /** Annotations to set on the destination claim (stops replication); absent when resuming. */
  stopReplication?: AnnotationPatch;
  /** The destination's key Secret, deleted with its endpoint. */
  secret?: string;
  /** The plugin-run endpoint's Deployment and Service (older installs), by name. */
  pluginEndpoint?: string;
  /** Written on the snapshot before the claim is deleted, so a cut-off failover resumes. */
  template?: { snapshot: string; value: string };
  /** The destination claim is deleted and restored under its own name. */
  replace: boolean;
  /** The claim to create from the snapshot. */
  create?: V1PersistentVolumeClaim;
  warnings: string[];
}

export type FailoverPlan = { kind: 'done'; message: string } | FailoverSteps;

const snapshotGroup = 'snapshot.storage.k8s.io';

/** Newest first; only snapshots ready to restore from. */
export function readySnapshots(snapshots: readonly VolumeSnapshot[]): VolumeSnapshot[] {
  return snapshots
    .filter((s) => s.status?.readyToUse)
    .sort(
      (a, b) => Date.parse(b.status?.creationTime ?? '') - Date.parse(a.status?.creationTime ?? ''),
    );
}

function where(r: FailoverRequest): string {
  return `(context ${r.context}, namespace ${r.namespace})`;
}

function pickSnapshot(r: FailoverRequest, s: FailoverState): VolumeSnapshot {
  const ready = readySnapshots(s.snapshots);
  if (r.snapshot) {
    const named = s.snapshots.find((x) => x.metadata.name === r.snapshot);
    if (!named) {
      const names = ready.map((x) => x.metadata.name).join(', ') || 'none';
      throw new CliError(
        `volumesnapshot "${r.snapshot}" is not a snapshot of persistentvolumeclaim "${r.name}" ${where(r)}; its snapshots: ${names}`,
      );
    }
    if (!named.status?.readyToUse) {
      throw new CliError(
        `volumesnapshot "${r.snapshot}" is not ready to use yet: wait for it, or leave out --snapshot to take the newest ready one`,
      );
    }
    return named;
  }
  const newest = ready[0];
  if (!newest) {
    throw new CliError(
      `no complete sync has reached persistentvolumeclaim "${r.name}" ${where(r)}: it has no ready snapshot. ` +
        `To take the volume as it is (possibly a transfer cut off midway), run again with --from volume`,
    );
  }
  return newest;
}

/** The claim's labels without Scribe's own (the server's selectors must not match it). */
function appLabels(claim: V1PersistentVolumeClaim | undefined): Record<string, string> | undefined {
  const labels = { ...(claim?.metadata?.labels ?? {}) };
  for (const k of [pvcLabel, componentLabel]) delete labels[k];
  if (labels[managedByLabel] === 'scribe') delete labels[managedByLabel];
  return Object.keys(labels).length ? labels : undefined;
}

function templateOf(claim: V1PersistentVolumeClaim, source: string, at: string): ClaimTemplate {
  const spec = claim.spec ?? {};
  const labels = appLabels(claim);
  return {
    source,
    at,
    ...(labels ? { labels } : {}),
    spec: {
      accessModes: spec.accessModes,
      storageClassName: spec.storageClassName,
      volumeMode: spec.volumeMode,
      resources: spec.resources,
    },
  };
}

export function parseTemplate(v: string | undefined): ClaimTemplate | undefined {
  if (!v) return undefined;
  try {
    const t = JSON.parse(v) as ClaimTemplate;
    return typeof t.source === 'string' && typeof t.at === 'string' && t.spec ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The larger of the claim's request and the snapshot's restore size: a restore may not shrink. */
function storageFor(t: ClaimTemplate, snap: VolumeSnapshot): string | undefined {
  const requested = t.spec.resources?.requests?.storage;
  const restore = snap.status?.restoreSize;
  if (!restore) return requested;
  if (!requested) return restore;
  return (parseQuantity(restore) ?? 0) > (parseQuantity(requested) ?? 0) ? restore : requested;
}

export function restoredClaim(
  name: string,
  namespace: string,
  t: ClaimTemplate,
  snap: VolumeSnapshot,
): V1PersistentVolumeClaim {
  const storage = storageFor(t, snap);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      ...(t.labels ? { labels: t.labels } : {}),
      annotations: {
        [drKeys.failedOverAt]: t.at,
        [drKeys.failedOverFrom]: t.source,
        [drKeys.failedOverData]: snap.metadata.name,
      },
    },
    spec: {
      ...(t.spec.accessModes ? { accessModes: t.spec.accessModes } : {}),
      ...(t.spec.storageClassName !== undefined
        ? { storageClassName: t.spec.storageClassName }
        : {}),
      ...(t.spec.volumeMode ? { volumeMode: t.spec.volumeMode } : {}),
      resources: { requests: storage ? { storage } : {} },
      dataSource: { apiGroup: snapshotGroup, kind: 'VolumeSnapshot', name: snap.metadata.name },
    },
  };
}

function failedOver(claim: V1PersistentVolumeClaim | undefined): string | undefined {
  const a = claim?.metadata?.annotations ?? {};
  const at = a[drKeys.failedOverAt];
  if (!at) return undefined;
  const into = a[drKeys.failedOverTo]
    ? `, restored into persistentvolumeclaim/${a[drKeys.failedOverTo]}`
    : '';
  return `failed over at ${at} from ${a[drKeys.failedOverFrom] ?? 'its source'} (data: ${a[drKeys.failedOverData] ?? 'unknown'}${into})`;
}

export function planFailover(r: FailoverRequest, s: FailoverState): FailoverPlan {
  if (r.as !== undefined && r.from === 'volume') {
    throw new CliError(
      "--as restores a snapshot into a new claim; with --from volume the destination claim itself becomes the application's: leave out --as, or use --from snapshot",
    );
  }
  if (r.as === r.name) r = { ...r, as: undefined };
  const claimRef = `persistentvolumeclaim "${r.name}" ${where(r)}`;

  if (!s.claim) {
    // Cut off after the destination claim was deleted: the template on the
    // snapshot says what to restore.
    const pending = s.snapshots.find((x) =>
      parseTemplate(x.metadata.annotations?.[drKeys.claimTemplate]),
    );
    if (pending && r.as === undefined) {
      const t = parseTemplate(pending.metadata.annotations?.[drKeys.claimTemplate])!;
      return {
        kind: 'steps',
        source: t.source,
        data: pending.metadata.name,
        snapshot: pending,
        replace: true,
        create: restoredClaim(r.name, r.namespace, t, pending),
        warnings: [
          `resuming the failover of ${t.at}: the destination claim was deleted, its snapshot ${pending.metadata.name} is restored now`,
        ],
      };
    }
    throw new CliError(
      `persistentvolumeclaims "${r.name}" not found ${where(r)}: name the destination PVC at the DR site (kubectl scribe status --context ${r.context} lists them)`,
    );
  }

  const parsed = parseSpec(s.claim.metadata?.annotations);
  if (!parsed.enabled) {
    const done = failedOver(s.claim);
    if (done && r.as === undefined) {
      return { kind: 'done', message: `persistentvolumeclaim/${r.name} unchanged: ${done}` };
    }
    const asDone = failedOver(s.asClaim);
    if (r.as !== undefined && asDone) {
      return { kind: 'done', message: `persistentvolumeclaim/${r.as} unchanged: ${asDone}` };
    }
    if (!done) {
      throw new CliError(
        `${claimRef} is not a replication destination: there is nothing to fail over. kubectl scribe status --context ${r.context} lists the destinations`,
      );
    }
  }
  if (parsed.enabled && parsed.spec?.role !== 'destination') {
    if (parsed.spec?.role === 'source') {
      const d = parsed.spec.destination;
      throw new CliError(
        `${claimRef} is the source of a replication, not its destination: fail over at the DR site with kubectl scribe failover pvc ${d.name} --context ${d.context} -n ${d.namespace}`,
      );
    }
    throw new CliError(
      `${claimRef} has invalid Scribe annotations; see kubectl scribe status pvc ${r.name} --context ${r.context}`,
    );
  }
  const spec = parsed.spec?.role === 'destination' ? parsed.spec : undefined;
  // Already stopped, restored elsewhere (--as) before: the source is on record.
  const source = spec
    ? renderPvcRef(spec.source)
    : (s.claim.metadata?.annotations?.[drKeys.failedOverFrom] ?? 'unknown');
  const sourceRef: PvcRef | undefined = spec?.source;

  if (r.as !== undefined && s.asClaim) {
    throw new CliError(
      `persistentvolumeclaims "${r.as}" already exists ${where(r)}: name another claim with --as, or delete it first`,
    );
  }

  const warnings: string[] = [];
  const stopReplication = (data: string): AnnotationPatch | undefined =>
    spec
      ? {
          ...disableAnnotationsPatch(s.claim?.metadata?.annotations),
          [drKeys.failedOverAt]: r.now,
          [drKeys.failedOverFrom]: source,
          [drKeys.failedOverData]: data,
          ...(r.as !== undefined ? { [drKeys.failedOverTo]: r.as } : {}),
        }
      : undefined;
  const cleanup = {
    ...(spec?.sourceTarget ? { sourceTarget: spec.sourceTarget } : {}),
    ...(spec ? { secret: spec.secret } : {}),
    ...(sourceRef ? { pluginEndpoint: sourceRef.name } : {}),
  };

  if (r.from === 'volume') {
    if (!r.volumeComplete)
      warnings.push(
        'the volume holds what the last transfer left, which is incomplete if that transfer was cut off; --from snapshot gives the last complete sync',
      );
    return {
      kind: 'steps',
      source,
      data: 'volume',
      stopReplication: stopReplication('volume')!,
      ...cleanup,
      replace: false,
      warnings,
    };
  }

  const snap = pickSnapshot(r, s);
  const t = templateOf(s.claim, source, r.now);
  // --as keeps the destination claim; otherwise it is replaced, and what it
  // looked like rides on the snapshot until its successor exists.
  const replace = r.as === undefined;
  return {
    kind: 'steps',
    source,
    data: snap.metadata.name,
    snapshot: snap,
    ...(spec ? { stopReplication: stopReplication(snap.metadata.name)! } : {}),
    ...cleanup,
    ...(replace ? { template: { snapshot: snap.metadata.name, value: JSON.stringify(t) } } : {}),
    replace,
    create: restoredClaim(r.as ?? r.name, r.namespace, t, snap),
    warnings,
  };
}

/** Selectors for what the in-cluster server runs for a destination. */
export function destinationSelectors(name: string): { receivers: string; endpoints: string } {
  return {
    receivers: componentSelector(name, components.receiver),
    endpoints: componentSelector(name, components.endpoint),
  };
}
