// Carries out one source PVC's replication: for each of its targets, on that
// target's schedule or a request, make a point-in-time copy, send it with a
// mover Job, record the result in the target's status, and remove the copy.
// Targets never share a copy, a Job or a status key, so each syncs on its own
// (one sync at a time per target). Every step is read back from the cluster,
// so a restarted replicator resumes where the last one stopped.
import type { CoreV1Event, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import {
  defaultTarget,
  knownMethod,
  parseStatus,
  renderStatus,
  sourceTargets,
  specForTarget,
  targetOfObject,
  type ReplicationStatus,
  type SourceSpec,
} from '../../model/src/index.ts';
import { decideSource, type BackoffPolicy } from './decide.ts';
import { quiesce, quiesceRecord, unquiesce } from './hooks.ts';
import type { Kube } from './kube.ts';
import { syncIdAt, syncIdLabel, syncObjectName } from './naming.ts';
import { cloneClaim, restoreClaim, senderJob, snapshotOf, type VolumeSnapshot } from './objects.ts';
import { component, type Owned } from './owned.ts';
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

/** Where a target's sync writes: its status keys, and how events name it. */
interface TargetScope {
  name: string;
  /** "" when the source has one target, else `target "NAME": `. */
  says: string;
}

/** The source-side objects (sender Jobs, copies) of one target. Pure. */
function ofTarget<T extends { metadata?: { labels?: Record<string, string> } }>(
  xs: T[],
  target: string,
): T[] {
  return xs.filter((o) => targetOfObject(o) === target);
}

/**
 * The objects of the sync in progress for one target of this PVC, if any:
 * the newest sync id among them. Pure.
 */
export function currentSync(owned: Owned, target = defaultTarget): SyncObjects | undefined {
  const jobs = ofTarget(component(owned.jobs, 'sender'), target);
  const claims = ofTarget(component(owned.claims, 'copy'), target);
  const snaps = ofTarget(component(owned.snapshots, 'copy'), target);
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
  t: TargetScope,
  s: Parameters<typeof renderStatus>[0],
): Promise<void> {
  await c.kube.mergePatch(pvc, { metadata: { annotations: renderStatus(s, t.name) } });
}

/**
 * Source-side objects of targets the spec no longer has (a target removed
 * with `kubectl scribe disable pvc NAME --target T`). Pure.
 */
export function orphanedObjects(owned: Owned, targets: ReadonlySet<string>) {
  const gone = <T extends { metadata?: { labels?: Record<string, string> } }>(xs: T[]) =>
    xs.filter((o) => !targets.has(targetOfObject(o)));
  return [
    ...gone(component(owned.jobs, 'sender')),
    ...gone(component(owned.claims, 'copy')),
    ...gone(component(owned.snapshots, 'copy')),
  ];
}

/**
 * The mover's JSON summary: the last JSON line of the sender pod's output.
 * A mover that stopped before it could start a sync (a missing volume, a
 * public key given for the private one) writes no summary, only its
 * kubectl-style "error: ..." line: that is the error then.
 */
export function parseSendSummary(log: string): {
  wireBytes?: number;
  files?: number;
  error?: string;
} {
  const lines = log.trim().split('\n').reverse();
  const said = lines.find((l) => l.startsWith('error: '));
  for (const line of lines) {
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
  return said ? { error: said.slice('error: '.length) } : {};
}

async function finish(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  t: TargetScope,
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
  await patchStatus(c, pvc, t, {
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
      ? `${t.says}sync ${sync.syncId} failed: ${error}`
      : `${t.says}sync ${sync.syncId} succeeded in ${duration}s: ${summary.files ?? 0} files, ${summary.wireBytes ?? 0} bytes on the wire`,
  );
  c.recorder.syncFinished(
    pvc,
    { ok: !error, durationSeconds: duration, bytes: summary.wireBytes ?? 0 },
    t.name,
  );
  await remove();
}

/**
 * One reconcile pass for one source PVC: each target in turn, then what is
 * left of targets since removed. A target that fails does not hold up the
 * others; the first error is rethrown once all had their turn.
 */
export async function reconcileSource(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  spec: SourceSpec,
  owned: Owned,
): Promise<void> {
  const targets = sourceTargets(spec);
  let failure: unknown;
  for (const target of targets) {
    const scope = {
      name: target.name,
      says: targets.length > 1 ? `target "${target.name}": ` : '',
    };
    try {
      await reconcileTarget(c, pvc, specForTarget(spec, target), scope, owned);
    } catch (err) {
      failure ??= new Error(`target "${target.name}": ${(err as Error).message}`, { cause: err });
    }
  }
  for (const o of orphanedObjects(owned, new Set(targets.map((t) => t.name)))) {
    await c.kube.delete(o as never);
  }
  if (failure) throw failure;
}

/** One target's share of a pass: `spec` is the source as that target sees it. */
async function reconcileTarget(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  spec: SourceSpec,
  t: TargetScope,
  owned: Owned,
): Promise<void> {
  const status = parseStatus(pvc.metadata?.annotations, t.name);
  const sync = currentSync(owned, t.name);
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
      await unquiesce(c, pvc, spec.quiesce, record, t.name);
    if (ended) return finish(c, pvc, t, status, sync, owned);
    // The Job is created before the copy binds (a WaitForFirstConsumer class
    // binds only for a pod), so a copy that never binds is caught here.
    if (snapError || (late && !copyBound)) {
      const why = snapError ? `the snapshot failed: ${snapError}` : await copyNotReady(c, sync);
      return finish(c, pvc, t, status, sync, owned, why);
    }
    if (!job) {
      if (sync.snapshot && !sync.claim && sync.snapshot.status?.readyToUse) {
        await c.kube.create(restoreClaim(pvc, sync.snapshot.metadata!.name!, sync.syncId, t.name));
      } else if (sync.claim && spec.endpoint) {
        const checksum = decideChecksum(spec, status);
        await c.kube.create(
          senderJob(pvc, sync.claim.metadata!.name!, spec.endpoint, sync.syncId, {
            secret: spec.secret,
            image: c.image,
            checksum,
            target: t.name,
          }),
        );
      }
    }
    // A schedule firing meanwhile is counted.
    const d = decideSource({ spec, status, now, syncRunning: true }, c.backoff);
    if (d.kind === 'wait' && d.missed) {
      await patchStatus(c, pvc, t, {
        missedIntervals: (status.missedIntervals ?? 0) + d.missed,
        nextSync: d.nextSync?.toISOString() ?? null,
      });
      c.recorder.missed(pvc, d.missed, t.name);
    }
    return;
  }

  // A quiesce recorded with no copy left (a replicator stopped midway): undo it first.
  const leftover = quiesceRecord(status);
  if (leftover) await unquiesce(c, pvc, spec.quiesce, leftover, t.name);
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
    await c.recorder.event(pvc, 'Normal', 'SyncResumed', `${t.says}sync ${syncId} resumed`);
    if (await prepareCopy(c, pvc, spec, t, status, syncId, owned))
      await createCopy(c, pvc, method.name, syncId, t.name);
    return;
  }
  const d = decideSource({ spec, status, now, syncRunning: false }, c.backoff);
  if (d.kind === 'ignore') return;
  if (d.kind === 'wait') {
    const next = d.nextSync?.toISOString();
    if (next !== status.nextSync && (spec.trigger.kind === 'schedule' || next)) {
      await patchStatus(c, pvc, t, { nextSync: next ?? null });
    }
    return;
  }
  const syncId = syncIdAt(now);
  await patchStatus(c, pvc, t, {
    lastSyncStart: now.toISOString(),
    lastSyncResult: 'Running',
    nextSync: d.nextSync?.toISOString() ?? null,
    missedIntervals: (status.missedIntervals ?? 0) + d.missed,
    ...(d.trigger === 'request' ? { syncHandled: spec.syncRequested } : {}),
  });
  if (d.missed) c.recorder.missed(pvc, d.missed, t.name);
  await c.recorder.event(
    pvc,
    'Normal',
    'SyncStarted',
    `${t.says}sync ${syncId} started (${d.trigger}, ${spec.method}${d.checksum ? ', checksum pass' : ''})`,
  );
  const running: ReplicationStatus = {
    ...status,
    lastSyncStart: now.toISOString(),
    lastSyncResult: 'Running',
  };
  if (await prepareCopy(c, pvc, spec, t, running, syncId, owned))
    await createCopy(c, pvc, spec.method, syncId, t.name);
}

/**
 * Runs the quiesce hook, if any, and records the consistency the copy will
 * have. False when the hook failed: the sync is recorded as failed then (the
 * application asked for consistent copies; a crash-consistent one in their
 * place would be a surprise), and retried with the usual backoff. Each target
 * quiesces for its own copy: targets syncing at once quiesce the application
 * once each.
 */
async function prepareCopy(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  spec: SourceSpec,
  t: TargetScope,
  status: ReplicationStatus,
  syncId: string,
  owned: Owned,
): Promise<boolean> {
  const r = spec.quiesce
    ? await quiesce(c, pvc, spec.quiesce, t.name)
    : { consistency: 'CrashConsistent' as const };
  if ('error' in r) {
    await finish(c, pvc, t, status, { syncId }, owned, `quiesce failed: ${r.error}`);
    return false;
  }
  await patchStatus(c, pvc, t, { lastSyncConsistency: r.consistency });
  return true;
}

/** The point-in-time copy a sync reads from: a clone, or a snapshot to restore. */
async function createCopy(
  c: SourceContext,
  pvc: V1PersistentVolumeClaim,
  method: string,
  syncId: string,
  target: string,
): Promise<void> {
  const copy =
    method === 'clone'
      ? cloneClaim(pvc, syncId, target)
      : snapshotOf(
          pvc,
          syncObjectName('snap', pvc.metadata!.name!, target, syncId),
          'copy',
          syncId,
          undefined,
          target,
        );
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
