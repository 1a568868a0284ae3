// Keeps a destination's read-only copy: after each new history snapshot,
// restore it (scrubbed first when a scrub step is set) under the copy's
// stable name, replacing the previous copy only while no pod mounts it.
// The decisions are copy-decide.ts's; this file reads and writes.
import type {
  KubernetesObject,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
} from '@kubernetes/client-node';
import {
  components,
  parseStatus,
  renderStatus,
  type DestinationSpec,
  type ReplicationStatus,
} from '../../model/src/index.ts';
import { decideCopy, scrubFailure, type CopyState, type SnapshotView } from './copy-decide.ts';
import { exposedClaim, scrubbedSnapshot, scrubJob, stagingClaim } from './copy-objects.ts';
import type { DestinationContext } from './destination.ts';
import {
  componentLabel,
  managedBy,
  managedByLabel,
  pvcLabel,
  pvcLabelValue,
  syncIdLabel,
} from './naming.ts';
import type { VolumeSnapshot } from './objects.ts';
import { component, type Owned } from './owned.ts';
import { summaryPod } from './source.ts';

const syncIdOf = (o: KubernetesObject) => o.metadata?.labels?.[syncIdLabel] ?? '';

function viewOf(s: VolumeSnapshot): SnapshotView {
  return {
    name: s.metadata!.name!,
    syncId: syncIdOf(s),
    readyToUse: Boolean(s.status?.readyToUse),
    ...(s.status?.creationTime ? { creationTime: String(s.status.creationTime) } : {}),
    ...(s.status?.restoreSize ? { restoreSize: String(s.status.restoreSize) } : {}),
    ...(s.status?.error?.message ? { error: s.status.error.message } : {}),
  };
}

/** Whether a running pod other than Scribe's mounts the claim. Pure. */
export function mountedBy(pods: readonly V1Pod[], claim: string): boolean {
  return pods.some(
    (p) =>
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed' &&
      p.metadata?.labels?.[managedByLabel] !== managedBy &&
      (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim),
  );
}

/** Whether a scrub Job runs, succeeded or failed. Pure. */
export function jobOutcome(j: V1Job): 'running' | 'succeeded' | 'failed' {
  // A Job stopped at its deadline may count no failed pod: its condition says it.
  const done = (type: string) =>
    j.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
  if (j.status?.succeeded || done('Complete')) return 'succeeded';
  if (j.status?.failed || done('Failed')) return 'failed';
  return 'running';
}

/** Scribe's objects for the copy, what a disable or a removed read-only-copy key deletes. */
export function copyObjects(owned: Owned): KubernetesObject[] {
  return [
    ...component(owned.jobs, components.scrub),
    ...component(owned.claims, components.staging),
    ...component(owned.claims, components.exposed),
    ...component(owned.snapshots, components.scrubbed),
  ];
}

const copyStatus: (keyof ReplicationStatus)[] = [
  'readOnlyCopySnapshot',
  'readOnlyCopySnapshotTime',
  'readOnlyCopyRefreshed',
  'readOnlyCopyPending',
  'readOnlyCopyError',
  'scrubResult',
  'scrubSnapshot',
  'scrubError',
];

export async function reconcileReadOnlyCopy(
  c: DestinationContext,
  pvc: V1PersistentVolumeClaim,
  spec: DestinationSpec,
  owned: Owned,
  history: VolumeSnapshot[],
): Promise<void> {
  const name = pvc.metadata!.name!;
  const ns = pvc.metadata!.namespace!;
  const status = parseStatus(pvc.metadata?.annotations);
  const want = spec.readOnlyCopy;
  if (!want) {
    // The copy was turned off: what Scribe made for it goes (a reader keeps a
    // deleted claim until it stops: pvc-protection).
    for (const o of copyObjects(owned)) await c.kube.delete(o);
    const stale = copyStatus.filter((k) => status[k] !== undefined);
    if (stale.length > 0) {
      await c.kube.mergePatch(pvc, {
        metadata: { annotations: renderStatus(Object.fromEntries(stale.map((k) => [k, null]))) },
      });
    }
    return;
  }

  const existing = c.findClaim
    ? c.findClaim(ns, want.name)
    : await c.kube.get<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', ns, want.name);
  const labels = existing?.metadata?.labels;
  const jobs = component(owned.jobs, components.scrub);
  const latest = history
    .filter((s) => s.status?.readyToUse && s.status.creationTime)
    .sort(
      (a, b) =>
        Date.parse(String(b.status!.creationTime)) - Date.parse(String(a.status!.creationTime)),
    )[0];
  const state: CopyState = {
    want,
    destination: name,
    ...(latest ? { latest: viewOf(latest) } : {}),
    ...(existing
      ? {
          exposed: {
            scribes:
              labels?.[managedByLabel] === managedBy &&
              labels?.[componentLabel] === components.exposed &&
              labels?.[pvcLabel] === pvcLabelValue(name),
            ...(existing.spec?.dataSource?.name ? { from: existing.spec.dataSource.name } : {}),
            deleting: Boolean(existing.metadata?.deletionTimestamp),
          },
        }
      : {}),
    formerCopies: component(owned.claims, components.exposed)
      .map((x) => x.metadata!.name!)
      .filter((n) => n !== want.name),
    staging: component(owned.claims, components.staging).map((x) => ({
      name: x.metadata!.name!,
      syncId: syncIdOf(x),
    })),
    jobs: jobs.map((j) => {
      const outcome = jobOutcome(j);
      const pod = summaryPod(owned.pods, j.metadata!.name!);
      const term = pod?.status?.containerStatuses?.[0]?.state;
      return {
        name: j.metadata!.name!,
        syncId: syncIdOf(j),
        outcome,
        ...(outcome === 'failed'
          ? {
              failure: scrubFailure(
                { conditions: j.status?.conditions },
                term?.terminated
                  ? { exitCode: term.terminated.exitCode, reason: term.terminated.reason }
                  : term?.waiting
                    ? { reason: term.waiting.reason, message: term.waiting.message }
                    : undefined,
                want.scrub?.timeoutSeconds ?? 0,
              ),
            }
          : {}),
      };
    }),
    scrubbed: component(owned.snapshots, components.scrubbed).map(viewOf),
    status,
  };

  let actions = decideCopy(state);
  if (actions.some((a) => a.kind === 'check-readers')) {
    const pods = await c.kube.list<V1Pod>('v1', 'Pod', ns);
    actions = decideCopy({ ...state, readers: mountedBy(pods, want.name) });
  }

  const create = async (o: KubernetesObject) => {
    await c.kube.create(o).catch((err: unknown) => {
      // Made in a pass whose list did not show it yet.
      if ((err as { code?: number }).code !== 409) throw err;
    });
  };
  const update: Record<string, string | null> = {};
  for (const a of actions) {
    switch (a.kind) {
      case 'create-staging':
        await create(stagingClaim(pvc, want, a.history));
        break;
      case 'create-scrub-job':
        await create(scrubJob(pvc, want.scrub!, a.syncId));
        break;
      case 'snapshot-staging':
        await create(scrubbedSnapshot(pvc, a.syncId, c.snapshotClass));
        break;
      case 'create-exposed':
        await create(
          exposedClaim(pvc, want, {
            snapshot: a.from.name,
            syncId: a.from.syncId,
            ...(a.from.restoreSize ? { restoreSize: a.from.restoreSize } : {}),
          }),
        );
        Object.assign(
          update,
          renderStatus({
            readOnlyCopySnapshot: a.history.name,
            readOnlyCopySnapshotTime: a.history.creationTime ?? null,
            readOnlyCopyRefreshed: c.now().toISOString(),
            readOnlyCopyPending: null,
          }),
        );
        await c.recorder.event(
          pvc,
          'Normal',
          'ReadOnlyCopyRefreshed',
          `read-only copy "${want.name}" restored from snapshot ${a.history.name}${want.scrub ? ' after the scrub step' : ''}`,
        );
        break;
      case 'retire-exposed':
        if (existing) await c.kube.delete(existing);
        break;
      case 'delete': {
        const pool: KubernetesObject[] =
          a.what === 'scrub'
            ? jobs
            : a.what === 'scrubbed'
              ? component(owned.snapshots, components.scrubbed)
              : component(owned.claims, components[a.what]);
        const o = pool.find((x) => x.metadata?.name === a.name);
        if (o) await c.kube.delete(o);
        break;
      }
      case 'record':
        // Every read-only copy status field is text, as the update carries it.
        Object.assign(update, renderStatus(a.status as Parameters<typeof renderStatus>[0]));
        break;
      case 'event':
        await c.recorder.event(pvc, a.type, a.reason, a.message);
        break;
      case 'check-readers':
        break;
    }
  }
  if (Object.keys(update).length > 0)
    await c.kube.mergePatch(pvc, { metadata: { annotations: update } });
}
