// What the replicator should do next for one source PVC: a pure function of
// the spec, the status it wrote last time, whether a sync runs, and the time.
// State lives in the PVC's annotations, so a restarted server decides the same.
import {
  knownMethod,
  nextRun,
  type ReplicationStatus,
  type SourceSpec,
} from '../../model/src/index.ts';

export interface SourceState {
  spec: SourceSpec;
  status: ReplicationStatus;
  now: Date;
  /** A sync of this PVC is in progress (its Job or copy exists). */
  syncRunning: boolean;
}

export type SourceDecision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'wait'; reason: string; nextSync?: Date; missed?: number }
  | {
      kind: 'start';
      trigger: 'schedule' | 'request' | 'retry';
      /** Compare contents, not size and mtime (every Nth sync). */
      checksum: boolean;
      /** Scheduled times that passed without a sync starting. */
      missed: number;
      /** When the schedule fires after this sync's start. */
      nextSync?: Date;
    };

export interface BackoffPolicy {
  baseSeconds: number;
  capSeconds: number;
}

export const defaultBackoff: BackoffPolicy = { baseSeconds: 30, capSeconds: 15 * 60 };

/** Seconds to wait before retrying after `failures` consecutive failures. */
export function retryDelaySeconds(failures: number, p: BackoffPolicy = defaultBackoff): number {
  if (failures <= 0) return 0;
  return Math.min(p.capSeconds, p.baseSeconds * 2 ** (failures - 1));
}

/** Scheduled fire times in (from, to], at most `limit` of them. */
function firesBetween(spec: SourceSpec, from: Date, to: Date, limit = 10_000): number {
  let n = 0;
  let t = from;
  for (;;) {
    const next = nextRun(spec.trigger, t);
    if (!next || next > to || n >= limit) return n;
    n++;
    t = next;
  }
}

export function decideSource(s: SourceState, backoff = defaultBackoff): SourceDecision {
  const { spec, status, now } = s;
  const method = knownMethod(spec.method);
  if (!method) return { kind: 'ignore', reason: `method "${spec.method}" belongs to a vendor` };
  if (method.name === 'live') return { kind: 'ignore', reason: 'live copy runs in the sidecar' };

  const requested =
    spec.syncRequested !== undefined && spec.syncRequested !== status.syncHandled
      ? spec.syncRequested
      : undefined;
  const due = status.nextSync ? new Date(status.nextSync) : undefined;
  const upcoming = nextRun(spec.trigger, now);

  if (s.syncRunning) {
    // A schedule that fires while a sync runs is counted, not queued.
    if (due && due <= now) {
      const missed = firesBetween(spec, due, now) + 1;
      return { kind: 'wait', reason: 'a sync is running', nextSync: upcoming, missed };
    }
    return { kind: 'wait', reason: 'a sync is running' };
  }
  if (spec.paused) return { kind: 'wait', reason: 'replication is paused' };
  if (!spec.endpoint) return { kind: 'wait', reason: 'the destination endpoint is not known yet' };

  const syncs = status.syncCount ?? 0;
  const checksum = spec.checksumEvery > 0 && (syncs + 1) % spec.checksumEvery === 0;
  if (requested)
    return { kind: 'start', trigger: 'request', checksum, missed: 0, nextSync: upcoming };

  const failures = status.consecutiveFailures ?? 0;
  if (failures > 0 && status.lastSyncEnd) {
    const retryAt = new Date(
      Date.parse(status.lastSyncEnd) + retryDelaySeconds(failures, backoff) * 1000,
    );
    if (retryAt <= now) {
      return { kind: 'start', trigger: 'retry', checksum, missed: 0, nextSync: upcoming };
    }
    return { kind: 'wait', reason: `retrying after ${failures} failed syncs`, nextSync: retryAt };
  }

  if (spec.trigger.kind === 'manual')
    return { kind: 'wait', reason: 'manual: waiting for a sync request' };
  if (!due) {
    // First sight of this PVC: start counting from now.
    return { kind: 'wait', reason: 'scheduled', nextSync: upcoming };
  }
  if (due > now) return { kind: 'wait', reason: 'scheduled', nextSync: due };
  const missed = firesBetween(spec, due, now);
  return { kind: 'start', trigger: 'schedule', checksum, missed, nextSync: upcoming };
}

/** Which history snapshots to delete: the ready ones beyond the newest `keep`. */
export function snapshotsToPrune(
  snapshots: { name: string; readyToUse: boolean; creationTime?: string }[],
  keep: number,
): string[] {
  const ready = snapshots
    .filter((s) => s.readyToUse && s.creationTime)
    .sort((a, b) => Date.parse(b.creationTime!) - Date.parse(a.creationTime!));
  return ready.slice(Math.max(1, keep)).map((s) => s.name);
}
