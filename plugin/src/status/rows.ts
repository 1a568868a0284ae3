// What `kubectl scribe status` shows for one PVC, decided from its
// annotations alone. Pure.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  describeProblems,
  isForeignMethod,
  parseSpec,
  parseStatus,
  renderPvcRef,
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
  state: ReplicationState;
  spec?: ReplicationSpec | undefined;
  status: ReplicationStatus;
  problems: string | undefined;
}

export function replicationRow(pvc: V1PersistentVolumeClaim): ReplicationRow | undefined {
  const annotations = pvc.metadata?.annotations;
  const parsed = parseSpec(annotations);
  if (!parsed.enabled) return undefined;
  const status = parseStatus(annotations);
  const base = {
    namespace: pvc.metadata?.namespace ?? '',
    name: pvc.metadata?.name ?? '',
    spec: parsed.spec,
    status,
    problems: parsed.problems.length ? describeProblems(parsed.problems) : undefined,
  };
  return { ...base, state: stateOf(parsed.spec, status) };
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
    {
      header: 'consistency',
      wide: true,
      // Application or Crash: how the last sync's copy was made (quiesce hooks).
      value: (r) => r.status.lastSyncConsistency?.replace(/Consistent$/, ''),
    },
    { header: 'error', wide: true, value: (r) => r.problems ?? r.status.lastSyncError },
  ];
  return allNamespaces ? [{ header: 'namespace', value: (r) => r.namespace }, ...cols] : cols;
}
