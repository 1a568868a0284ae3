// What to do next for a destination's read-only copy: a pure function of the
// newest history snapshot, what Scribe made for the copy so far, the status
// it recorded, and (when asked for) whether a pod still mounts the copy.
//
// Readers only ever see a claim restored whole from one snapshot: the
// history snapshot itself, or, with a scrub step, a snapshot taken after the
// scrub Job succeeded on a staging restore. The claim under the stable name is
// replaced (deleted, then restored from the newer snapshot) only while no pod
// mounts it; until then readers keep the copy they have.
import { specKeys, type ReadOnlyCopySpec, type ReplicationStatus } from '../../model/src/index.ts';

export interface SnapshotView {
  name: string;
  syncId: string;
  readyToUse: boolean;
  creationTime?: string;
  restoreSize?: string;
  error?: string;
}

export interface CopyState {
  want: ReadOnlyCopySpec;
  destination: string;
  /** The newest ready history snapshot. */
  latest?: SnapshotView;
  /** The claim under the copy's name, if any. */
  exposed?: {
    /** Labelled as this destination's exposed copy. */
    scribes: boolean;
    /** The snapshot it was restored from (spec.dataSource). */
    from?: string;
    deleting: boolean;
  };
  /** Copies Scribe made under another name (read-only-copy was renamed). */
  formerCopies: string[];
  staging: { name: string; syncId: string }[];
  jobs: {
    name: string;
    syncId: string;
    outcome: 'running' | 'succeeded' | 'failed';
    /** Why it failed, in a line (scrubFailure). */
    failure?: string;
  }[];
  scrubbed: SnapshotView[];
  status: ReplicationStatus;
  /** Whether a pod mounts the copy; undefined until the decision asks. */
  readers?: boolean;
}

export type StatusUpdate = Partial<Record<keyof ReplicationStatus, string | null>>;

export type CopyAction =
  | { kind: 'create-staging'; history: SnapshotView }
  | { kind: 'create-scrub-job'; syncId: string }
  | { kind: 'snapshot-staging'; syncId: string }
  | { kind: 'create-exposed'; from: SnapshotView; history: SnapshotView }
  /** Delete the stale copy; the next pass restores the newer one. */
  | { kind: 'retire-exposed' }
  /** List the pods that mount the copy, then decide again. */
  | { kind: 'check-readers' }
  | { kind: 'delete'; what: 'staging' | 'scrub' | 'scrubbed' | 'exposed'; name: string }
  | { kind: 'record'; status: StatusUpdate }
  | { kind: 'event'; type: 'Normal' | 'Warning'; reason: string; message: string };

/** The message for a copy name Scribe may not take. */
export function nameTakenMessage(copy: string, destination: string): string {
  return copy === destination
    ? `${specKeys.readOnlyCopy} names the destination itself: name another PVC for the copy`
    : `persistentvolumeclaim "${copy}" exists and is not Scribe's read-only copy of "${destination}": name another PVC in ${specKeys.readOnlyCopy}, or delete that one`;
}

export function decideCopy(s: CopyState): CopyAction[] {
  const out: CopyAction[] = [];
  const { status, latest } = s;
  const record = (u: StatusUpdate) => {
    const changed = Object.entries(u).some(
      ([k, v]) => (status[k as keyof ReplicationStatus]?.toString() ?? null) !== v,
    );
    if (changed) out.push({ kind: 'record', status: u });
  };

  if (s.exposed && !s.exposed.scribes) {
    const message = nameTakenMessage(s.want.name, s.destination);
    if (status.readOnlyCopyError !== message)
      out.push({ kind: 'event', type: 'Warning', reason: 'ReadOnlyCopyNameTaken', message });
    record({ readOnlyCopyError: message });
    return out;
  }
  if (status.readOnlyCopyError !== undefined) record({ readOnlyCopyError: null });

  for (const name of s.formerCopies) out.push({ kind: 'delete', what: 'exposed', name });
  // Scrub work for another snapshot than the newest is superseded.
  const target = latest?.syncId;
  const exposedFrom = s.exposed?.from;
  for (const c of s.staging)
    if (c.syncId !== target) out.push({ kind: 'delete', what: 'staging', name: c.name });
  for (const j of s.jobs)
    if (j.syncId !== target) out.push({ kind: 'delete', what: 'scrub', name: j.name });
  for (const x of s.scrubbed)
    if (x.syncId !== target && x.name !== exposedFrom)
      out.push({ kind: 'delete', what: 'scrubbed', name: x.name });
  if (!latest) return out;

  // The snapshot the copy of the newest data is restored from, once it exists.
  let from: SnapshotView | undefined;
  const scrub = s.want.scrub;
  if (!scrub) {
    from = latest;
  } else {
    const snap = s.scrubbed.find((x) => x.syncId === latest.syncId);
    const job = s.jobs.find((j) => j.syncId === latest.syncId);
    const staging = s.staging.find((c) => c.syncId === latest.syncId);
    const failedHere = status.scrubResult === 'Failed' && status.scrubSnapshot === latest.name;
    const tidy = () => {
      if (job) out.push({ kind: 'delete', what: 'scrub', name: job.name });
      if (staging) out.push({ kind: 'delete', what: 'staging', name: staging.name });
    };
    if (snap?.readyToUse) {
      from = snap;
      tidy();
      record({ scrubResult: 'Succeeded', scrubSnapshot: latest.name, scrubError: null });
    } else if (snap?.error) {
      const message = `the snapshot of the scrubbed copy failed: ${snap.error}`;
      out.push({ kind: 'delete', what: 'scrubbed', name: snap.name });
      tidy();
      out.push(scrubFailed(latest.name, message));
      record({ scrubResult: 'Failed', scrubSnapshot: latest.name, scrubError: message });
    } else if (snap) {
      // The snapshot of the scrubbed claim is being cut.
    } else if (failedHere) {
      // Retried with the next sync's snapshot; the previous copy stays.
      tidy();
    } else if (!job) {
      if (!staging) out.push({ kind: 'create-staging', history: latest });
      out.push({ kind: 'create-scrub-job', syncId: latest.syncId });
      record({ scrubResult: 'Running', scrubSnapshot: latest.name, scrubError: null });
    } else if (job.outcome === 'succeeded') {
      out.push({ kind: 'snapshot-staging', syncId: latest.syncId });
    } else if (job.outcome === 'failed') {
      const message = job.failure ?? 'the scrub Job failed';
      tidy();
      out.push(scrubFailed(latest.name, message));
      record({ scrubResult: 'Failed', scrubSnapshot: latest.name, scrubError: message });
    }
  }
  // A copy made before the scrub step was set holds unscrubbed data: it goes
  // as soon as no pod mounts it, without waiting for the scrubbed one.
  const unscrubbed =
    scrub !== undefined &&
    s.exposed !== undefined &&
    !s.exposed.deleting &&
    !s.scrubbed.some((x) => x.name === s.exposed!.from);
  if (!from && !unscrubbed) return out;

  if (from && s.exposed?.from === from.name && !s.exposed.deleting) {
    record({
      readOnlyCopySnapshot: latest.name,
      readOnlyCopySnapshotTime: latest.creationTime ?? null,
      readOnlyCopyPending: null,
    });
    return out;
  }
  if (!s.exposed) {
    if (from) out.push({ kind: 'create-exposed', from, history: latest });
    return out;
  }
  if (s.exposed.deleting) return out; // a reader still holds the old claim; the API keeps it
  if (s.readers === undefined) {
    out.push({ kind: 'check-readers' });
    return out;
  }
  if (s.readers) {
    if (!from) return out;
    if (status.readOnlyCopyPending !== latest.name) {
      out.push({
        kind: 'event',
        type: 'Normal',
        reason: 'ReadOnlyCopyWaiting',
        message: `snapshot ${latest.name} is ready for read-only copy "${s.want.name}"; it replaces the copy once no pod mounts it`,
      });
    }
    record({ readOnlyCopyPending: latest.name });
    return out;
  }
  out.push({ kind: 'retire-exposed' });
  return out;
}

function scrubFailed(snapshot: string, message: string): CopyAction {
  return {
    kind: 'event',
    type: 'Warning',
    reason: 'ScrubFailed',
    message: `scrub step on snapshot ${snapshot} failed (${message}); the read-only copy keeps its previous data; the next sync retries`,
  };
}

/** Why a scrub Job failed, in a line: its pod's exit or the deadline. Pure. */
export function scrubFailure(
  job: { conditions?: { type: string; status: string; reason?: string; message?: string }[] },
  pod: { exitCode?: number; reason?: string; message?: string } | undefined,
  timeoutSeconds: number,
): string {
  const failed = job.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed?.reason === 'DeadlineExceeded')
    return `did not finish within ${timeoutSeconds}s (${specKeys.scrubTimeout})`;
  if (pod?.exitCode !== undefined)
    return `the scrub container exited with code ${pod.exitCode}${pod.reason && pod.reason !== 'Error' ? ` (${pod.reason})` : ''}`;
  if (pod?.reason)
    return `the scrub container did not run: ${pod.reason}${pod.message ? `: ${pod.message}` : ''}`;
  return failed?.message ?? failed?.reason ?? 'the scrub Job failed';
}
