// What `kubectl scribe status` shows for one PVC, decided from its
// annotations alone: one row per target of a source (its fan-out
// destinations), one row for a destination. Pure.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  describeProblems,
  isForeignMethod,
  parseSpec,
  parseStatus,
  renderPvcRef,
  sourceTargets,
  specForTarget,
  type ReplicationSpec,
  type ReplicationStatus,
} from '../../../model/src/index.ts';
import { age, humanBytes, humanDuration, type Column } from '../output/table.ts';

/**
 * Protected: a source with its endpoint recorded, not paused, last sync not failed.
 * Pending: no endpoint yet. Failing: the last sync failed. Paused. Foreign: a
 * vendor's method (Scribe leaves it alone). Invalid: the annotations do not parse.
 * Destination: the receiving side.
 */
export type ReplicationState =
  | 'Protected'
  | 'Pending'
  | 'Failing'
  | 'Paused'
  | 'Syncing'
  | 'Foreign'
  | 'Invalid'
  | 'Destination';

export interface ReplicationRow {
  namespace: string;
  name: string;
  /** The source's target this row shows (`default` for the unsuffixed keys); none for a destination. */
  target?: string | undefined;
  state: ReplicationState;
  /** For a source: the spec as this row's target sees it (its destination, schedule, endpoint). */
  spec?: ReplicationSpec | undefined;
  status: ReplicationStatus;
  problems: string | undefined;
}

/** One row per target of a source; one row for a destination or an invalid spec. */
export function replicationRows(pvc: V1PersistentVolumeClaim): ReplicationRow[] {
  const annotations = pvc.metadata?.annotations;
  const parsed = parseSpec(annotations);
  if (!parsed.enabled) return [];
  const base = {
    namespace: pvc.metadata?.namespace ?? '',
    name: pvc.metadata?.name ?? '',
    problems: parsed.problems.length ? describeProblems(parsed.problems) : undefined,
  };
  const spec = parsed.spec;
  if (spec?.role !== 'source') {
    const status = parseStatus(annotations);
    return [{ ...base, spec, status, state: stateOf(spec, status) }];
  }
  return sourceTargets(spec).map((t) => {
    const view = specForTarget(spec, t);
    const status = parseStatus(annotations, t.name);
    return { ...base, target: t.name, spec: view, status, state: stateOf(view, status) };
  });
}

/** The first row (a source's default target): what a one-destination PVC shows. */
export function replicationRow(pvc: V1PersistentVolumeClaim): ReplicationRow | undefined {
  return replicationRows(pvc)[0];
}

function stateOf(spec: ReplicationSpec | undefined, status: ReplicationStatus): ReplicationState {
  if (!spec) return 'Invalid';
  if (spec.role === 'destination') return 'Destination';
  if (isForeignMethod(spec)) return 'Foreign';
  if (spec.paused) return 'Paused';
  if (!spec.endpoint) return 'Pending';
  if (status.lastSyncResult === 'Running') return 'Syncing';
  if (status.lastSyncResult === 'Failed') return 'Failing';
  return 'Protected';
}

/** How old the destination's copy is: since the start of the last good sync. */
export function lag(status: ReplicationStatus, now: Date): string | undefined {
  if (status.lastSyncResult !== 'Succeeded' || !status.lastSyncStart) return undefined;
  return age(status.lastSyncStart, now);
}

export function statusColumns(now: Date, allNamespaces: boolean): Column<ReplicationRow>[] {
  const src = (r: ReplicationRow) => (r.spec?.role === 'source' ? r.spec : undefined);
  const cols: Column<ReplicationRow>[] = [
    { header: 'name', value: (r) => r.name },
    { header: 'target', value: (r) => r.target },
    { header: 'state', value: (r) => r.state },
    { header: 'method', value: (r) => src(r)?.method },
    {
      header: 'destination',
      value: (r) => {
        const s = src(r);
        return s ? renderPvcRef(s.destination) : undefined;
      },
    },
    {
      header: 'schedule',
      value: (r) => {
        const s = src(r);
        return s ? (s.trigger.kind === 'manual' ? 'manual' : s.trigger.cron) : undefined;
      },
    },
    {
      header: 'last sync',
      // A running sync shows when it started; a finished one when it ended.
      value: (r) =>
        age(
          r.status.lastSyncResult === 'Running'
            ? r.status.lastSyncStart
            : (r.status.lastSyncEnd ?? r.status.lastSyncStart),
          now,
        ),
    },
    { header: 'lag', value: (r) => lag(r.status, now) },
    { header: 'result', value: (r) => r.status.lastSyncResult },
    { header: 'bytes', value: (r) => humanBytes(r.status.lastSyncBytes) },
    { header: 'endpoint', wide: true, value: (r) => src(r)?.endpoint },
    {
      header: 'source',
      wide: true,
      value: (r) => (r.spec?.role === 'destination' ? renderPvcRef(r.spec.source) : undefined),
    },
    {
      header: 'duration',
      wide: true,
      value: (r) =>
        r.status.lastSyncDuration === undefined
          ? undefined
          : humanDuration(r.status.lastSyncDuration * 1000),
    },
    { header: 'next sync', wide: true, value: (r) => r.status.nextSync },
    { header: 'snapshot', wide: true, value: (r) => r.status.latestSnapshot },
    { header: 'read-only copy', wide: true, value: (r) => readOnlyCopyCell(r, now) },
    {
      header: 'consistency',
      wide: true,
      // Application or Crash: how the last sync's copy was made (quiesce hooks).
      value: (r) => r.status.lastSyncConsistency?.replace(/Consistent$/, ''),
    },
    {
      header: 'error',
      wide: true,
      value: (r) =>
        r.problems ??
        r.status.lastSyncError ??
        r.status.readOnlyCopyError ??
        (r.status.scrubResult === 'Failed' ? `scrub: ${r.status.scrubError}` : undefined),
    },
  ];
  return allNamespaces ? [{ header: 'namespace', value: (r) => r.namespace }, ...cols] : cols;
}

/**
 * A destination's read-only copy: its name, the snapshot it holds and how old
 * that data is, a newer one waiting for readers, a scrub in progress or failed.
 */
export function readOnlyCopyCell(r: ReplicationRow, now: Date): string | undefined {
  const c = r.spec?.role === 'destination' ? r.spec.readOnlyCopy : undefined;
  if (!c) return undefined;
  const s = r.status;
  const notes: string[] = [];
  if (s.readOnlyCopyError) notes.push('name taken');
  else if (!s.readOnlyCopySnapshot) notes.push('not made yet');
  else
    notes.push(
      `${s.readOnlyCopySnapshot}, data ${age(s.readOnlyCopySnapshotTime, now) ?? '?'} old`,
    );
  if (s.readOnlyCopyPending) notes.push(`${s.readOnlyCopyPending} waits for readers to stop`);
  if (c.scrub && s.scrubResult === 'Running') notes.push(`scrubbing ${s.scrubSnapshot}`);
  if (c.scrub && s.scrubResult === 'Failed') notes.push(`scrub of ${s.scrubSnapshot} failed`);
  return `${c.name} (${notes.join('; ')})`;
}
