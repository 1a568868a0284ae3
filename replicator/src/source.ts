// Carries out one source PVC's replication: on its schedule or a request,
// make a point-in-time copy, send it with a mover Job, record the result, and
// remove the copy. Every step is read back from the cluster, so a restarted
// replicator resumes where the last one stopped.
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import {
  knownMethod,
  parseStatus,
  renderStatus,
  type ReplicationStatus,
  type SourceSpec,
} from '../../model/src/index.ts';
import { decideSource, type BackoffPolicy } from './decide.ts';
import type { Kube } from './kube.ts';
import { objectName, syncIdAt, syncIdLabel } from './naming.ts';
import { cloneClaim, restoreClaim, senderJob, snapshotOf, type VolumeSnapshot } from './objects.ts';
import { component, type Owned } from './owned.ts';
import { quiesce, quiesceRecord, unquiesce } from './hooks.ts';
import { copyCut } from './quiesce.ts';
import type { Recorder } from './recorder.ts';

export interface SourceContext {
  kube: Kube;
  recorder: Recorder;
  now: () => Date;
  image?: string;
  /** A copy that is not ready after this long fails the sync. */
  copyTimeoutSeconds: number;
  backoff?: BackoffPolicy;
}

interface SyncObjects {
  syncId: string;
  job?: V1Job;
  claim?: V1PersistentVolumeClaim;
  snapshot?: VolumeSnapshot;
}

/** The objects of the sync in progress for this PVC, if any: the newest sync id among them. Pure. */
export function currentSync(owned: Owned): SyncObjects | undefined {
  const jobs = component(owned.jobs, 'sender');
  const claims = component(owned.claims, 'copy');
  const snaps = component(owned.snapshots, 'copy');
  const all = [...jobs, ...claims, ...snaps];
  if (all.length === 0) return undefined;
  const syncId = all
    .map((o) => o.metadata?.labels?.[syncIdLabel] ?? '')
    .sort()
    .at(-1)!;
  const mine = <T extends { metadata?: { labels?: Record<string, string> } }>(xs: T[]) =>
    xs.find((o) => o.metadata?.labels?.[syncIdLabel] === syncId);
  return { syncId, job: mine(jobs), claim: mine(claims), snapshot: mine(snaps) };
}

async function patchStatus(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  s: Parameters<typeof renderStatus>[0],
  extra: Record<string, string | null> = {},
): Promise<void> {
  await c.kube.mergePatch(pvc, { metadata: { annotations: { ...renderStatus(s), ...extra } } });
}

/** The mover's JSON summary: the last JSON line of the sender pod's output. */
export function parseSendSummary(log: string): {
  wireBytes?: number;
  files?: number;
  error?: string;
} {
  for (const line of log.trim().split('\n').reverse()) {
    try {
      const v = JSON.parse(line) as {
        result?: string;
        wireBytes?: number;
        files?: number;
        error?: string;
      };
      if (v.result) return v;
    } catch {
      // Not a JSON line (logs go to stderr, but be lenient).
    }
  }
  return {};
}

async function finish(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  status: ReplicationStatus,
  sync: SyncObjects,
  owned: Owned,
  failure?: string,
): Promise<void> {
  const ns = pvc.metadata!.namespace!;
  const remove = async () => {
    // The copy goes; the destination's last good snapshot was never touched.
    for (const o of [sync.job, sync.claim, sync.snapshot]) if (o) await c.kube.delete(o as never);
  };
  // Recorded already (a replicator stopped before removing the copy): only clean up.
  if (status.lastSyncResult !== 'Running') return remove();
  let summary: ReturnType<typeof parseSendSummary> = {};
  if (sync.job) {
    const jobName = sync.job.metadata!.name;
    const pod = summaryPod(owned.pods, jobName!);
    if (pod) {
      summary = parseSendSummary(
        await c.kube.podLog(ns, pod.metadata!.name!, 'mover').catch(() => ''),
      );
    }
  }
  const error =
    failure ??
    (sync.job?.status?.succeeded ? undefined : (summary.error ?? 'the mover Job failed'));
  const end = c.now();
  const start = status.lastSyncStart ? Date.parse(status.lastSyncStart) : end.getTime();
  const duration = Math.max(0, Math.round((end.getTime() - start) / 100) / 10);
  await patchStatus(c, pvc, {
    lastSyncEnd: end.toISOString(),
    lastSyncDuration: duration,
    lastSyncResult: error ? 'Failed' : 'Succeeded',
    lastSyncError: error ?? null,
    lastSyncBytes: summary.wireBytes ?? null,
    lastSyncFiles: summary.files ?? null,
    syncCount: (status.syncCount ?? 0) + (error ? 0 : 1),
    consecutiveFailures: error ? (status.consecutiveFailures ?? 0) + 1 : 0,
  });
  await c.recorder.event(
    pvc,
    error ? 'Warning' : 'Normal',
    error ? 'SyncFailed' : 'SyncSucceeded',
    error
      ? `sync ${sync.syncId} failed: ${error}`
      : `sync ${sync.syncId} succeeded in ${duration}s: ${summary.files ?? 0} files, ${summary.wireBytes ?? 0} bytes on the wire`,
  );
  c.recorder.syncFinished(pvc, {
    ok: !error,
    durationSeconds: duration,
    bytes: summary.wireBytes ?? 0,
  });
  await remove();
}

/** One reconcile pass for one source PVC. */
export async function reconcileSource(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  spec: SourceSpec,
  owned: Owned,
): Promise<void> {
  const status = parseStatus(pvc.metadata?.annotations);
  const sync = currentSync(owned);
  const now = c.now();

  if (sync) {
    const job = sync.job;
    const started = status.lastSyncStart ? Date.parse(status.lastSyncStart) : now.getTime();
    const late = now.getTime() - started > c.copyTimeoutSeconds * 1000;
    const snapError = sync.snapshot?.status?.error?.message;
    const copyBound = sync.claim?.status?.phase === 'Bound';
    const ended = Boolean(job?.status?.succeeded || job?.status?.failed);
    // The application goes on once its copy is cut, or once the sync cannot use it.
    const record = quiesceRecord(status);
    if (record && (copyCut(sync) || ended || snapError || (late && !copyBound)))
      await unquiesce(c, pvc, spec.quiesce, record);
    if (ended) return finish(c, pvc, status, sync, owned);
    // The Job is created before the copy binds (a WaitForFirstConsumer class
    // binds only for a pod), so a copy that never binds is caught here.
    if (snapError || (late && !copyBound)) {
      const why = snapError ? `the snapshot failed: ${snapError}` : await copyNotReady(c, sync);
      return finish(c, pvc, status, sync, owned, why);
    }
    if (!job) {
      if (sync.snapshot && !sync.claim && sync.snapshot.status?.readyToUse) {
        await c.kube.create(restoreClaim(pvc, sync.snapshot.metadata!.name!, sync.syncId));
      } else if (sync.claim && spec.endpoint) {
        const checksum = decideChecksum(spec, status);
        await c.kube.create(
          senderJob(pvc, sync.claim.metadata!.name!, spec.endpoint, sync.syncId, {
            secret: spec.secret,
            image: c.image,
            checksum,
          }),
        );
      }
    }
    // A schedule firing meanwhile is counted.
    const d = decideSource({ spec, status, now, syncRunning: true }, c.backoff);
    if (d.kind === 'wait' && d.missed) {
      await patchStatus(c, pvc, {
        missedIntervals: (status.missedIntervals ?? 0) + d.missed,
        nextSync: d.nextSync?.toISOString() ?? null,
      });
      c.recorder.missed(pvc, d.missed);
    }
    return;
  }

  // A quiesce recorded with no copy left (a replicator stopped midway): undo it first.
  const leftover = quiesceRecord(status);
  if (leftover) await unquiesce(c, pvc, spec.quiesce, leftover);
  const method = knownMethod(spec.method);
  if (
    status.lastSyncResult === 'Running' &&
    status.lastSyncStart &&
    method &&
    method.name !== 'live'
  ) {
    // A replicator stopped between recording a start and making its copy:
    // the sync is carried on, not lost (nor started twice).
    const syncId = syncIdAt(new Date(status.lastSyncStart));
    await c.recorder.event(pvc, 'Normal', 'SyncResumed', `sync ${syncId} resumed`);
    if (await prepareCopy(c, pvc, spec, status, syncId, owned))
      await createCopy(c, pvc, method.name, syncId);
    return;
  }
  const d = decideSource({ spec, status, now, syncRunning: false }, c.backoff);
  if (d.kind === 'ignore') return;
  if (d.kind === 'wait') {
    const next = d.nextSync?.toISOString();
    if (next !== status.nextSync && (spec.trigger.kind === 'schedule' || next)) {
      await patchStatus(c, pvc, { nextSync: next ?? null });
    }
    return;
  }
  const syncId = syncIdAt(now);
  await patchStatus(c, pvc, {
    lastSyncStart: now.toISOString(),
    lastSyncResult: 'Running',
    nextSync: d.nextSync?.toISOString() ?? null,
    missedIntervals: (status.missedIntervals ?? 0) + d.missed,
    ...(d.trigger === 'request' ? { syncHandled: spec.syncRequested } : {}),
  });
  if (d.missed) c.recorder.missed(pvc, d.missed);
  await c.recorder.event(
    pvc,
    'Normal',
    'SyncStarted',
    `sync ${syncId} started (${d.trigger}, ${spec.method}${d.checksum ? ', checksum pass' : ''})`,
  );
  const running: ReplicationStatus = {
    ...status,
    lastSyncStart: now.toISOString(),
    lastSyncResult: 'Running',
  };
  if (await prepareCopy(c, pvc, spec, running, syncId, owned))
    await createCopy(c, pvc, spec.method, syncId);
}

/**
 * Runs the quiesce hook, if any, and records the consistency the copy will
 * have. False when the hook failed: the sync is recorded as failed then (the
 * application asked for consistent copies; a crash-consistent one in their
 * place would be a surprise), and retried with the usual backoff.
 */
async function prepareCopy(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  spec: SourceSpec,
  status: ReplicationStatus,
  syncId: string,
  owned: Owned,
): Promise<boolean> {
  const r = spec.quiesce
    ? await quiesce(c, pvc, spec.quiesce)
    : { consistency: 'CrashConsistent' as const };
  if ('error' in r) {
    await finish(c, pvc, status, { syncId }, owned, `quiesce failed: ${r.error}`);
    return false;
  }
  await patchStatus(c, pvc, { lastSyncConsistency: r.consistency });
  return true;
}

/** The point-in-time copy a sync reads from: a clone, or a snapshot to restore. */
async function createCopy(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  method: string,
  syncId: string,
): Promise<void> {
  const copy =
    method === 'clone'
      ? cloneClaim(pvc, syncId)
      : snapshotOf(pvc, objectName('scribe-snap', pvc.metadata!.name!, syncId), 'copy', syncId);
  // Its name comes from the sync id: a copy a lagging list did not show yet is no error.
  await c.kube.create(copy as never).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 409) throw err;
  });
}

/** Why the point-in-time copy is not there, with the provisioner's last word if any. */
async function copyNotReady(c: SourceContext, sync: SyncObjects): Promise<string> {
  const what = sync.claim
    ? `the point-in-time copy (PVC ${sync.claim.metadata?.name}) was not bound`
    : 'the point-in-time copy was not ready';
  let reason = '';
  if (sync.claim) {
    const events = await c.kube.list<CoreV1Event>(
      'v1',
      'Event',
      sync.claim.metadata?.namespace,
      undefined,
      `involvedObject.name=${sync.claim.metadata?.name}`,
    );
    const last = events.filter((e) => e.type === 'Warning').at(-1);
    if (last?.message) reason = `: ${last.reason}: ${last.message}`;
  }
  return `${what} within ${c.copyTimeoutSeconds}s${reason}`;
}

function decideChecksum(spec: SourceSpec, status: ReplicationStatus): boolean {
  return spec.checksumEvery > 0 && ((status.syncCount ?? 0) + 1) % spec.checksumEvery === 0;
}

/**
 * The pod whose log holds a sender Job's summary. A Job that retried has
 * several: the one that succeeded (else the newest), not whichever the list
 * happens to end with.
 */
export function summaryPod(pods: readonly V1Pod[], jobName: string): V1Pod | undefined {
  const time = (p: V1Pod) => Date.parse(String(p.metadata?.creationTimestamp ?? ''));
  return pods
    .filter((p) => p.metadata?.labels?.['job-name'] === jobName)
    .sort(
      (a, b) =>
        Number(a.status?.phase === 'Succeeded') - Number(b.status?.phase === 'Succeeded') ||
        time(a) - time(b),
    )
    .at(-1);
}
