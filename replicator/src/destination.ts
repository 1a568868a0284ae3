// Keeps a destination PVC ready to receive: a receiver Job that succeeds only
// on a complete transfer, the Service in front of it, and after each complete
// transfer (and only then) a VolumeSnapshot of the destination, keeping the
// newest N, and the read-only copy of the newest (read-only-copy.ts).
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parseStatus, renderStatus, type DestinationSpec } from '../../model/src/index.ts';
import { snapshotsToPrune } from './decide.ts';
import type { Kube } from './kube.ts';
import { freshSyncId, objectName, syncIdLabel } from './naming.ts';
import { endpointService, receiverJob, snapshotOf } from './objects.ts';
import { component, type Owned } from './owned.ts';
import { reconcileReadOnlyCopy } from './read-only-copy.ts';
import type { Recorder } from './recorder.ts';

export interface DestinationContext {
  kube: Kube;
  recorder: Recorder;
  now: () => Date;
  image?: string;
  snapshotClass?: string;
  /** A claim from the pass's list (absent: the read-only copy's claim is read with a get). */
  findClaim?: (namespace: string, name: string) => V1PersistentVolumeClaim | undefined;
}

export async function reconcileDestination(
  c: DestinationContext,
  pvc: V1PersistentVolumeClaim,
  spec: DestinationSpec,
  owned: Owned,
): Promise<void> {
  const name = pvc.metadata!.name!;
  const status = parseStatus(pvc.metadata?.annotations);

  const svc = endpointService(pvc, spec.serviceType);
  if (!owned.services.some((s) => s.metadata?.name === svc.metadata!.name)) {
    await c.kube.create(svc).catch((err: unknown) => {
      // A Service the pass's list did not show yet is no error.
      if ((err as { code?: number }).code !== 409) throw err;
    });
  }

  const history = component(owned.snapshots, 'history');
  const jobs = component(owned.jobs, 'receiver');

  for (const job of jobs) {
    const syncId = job.metadata?.labels?.[syncIdLabel] ?? '';
    if (job.status?.succeeded) {
      // Complete transfer: snapshot it (once), then make room for the next.
      const snapName = objectName('scribe', name, syncId);
      if (!history.some((s) => s.metadata?.name === snapName)) {
        const snap = snapshotOf(pvc, snapName, 'history', syncId, c.snapshotClass);
        history.push(await c.kube.create(snap));
        await c.recorder.event(
          pvc,
          'Normal',
          'SyncReceived',
          `sync ${syncId} complete; snapshot ${snapName} taken`,
        );
      }
      await c.kube.delete(job);
    } else if (job.status?.failed) {
      await c.recorder.event(
        pvc,
        'Warning',
        'ReceiveFailed',
        `receiver ${job.metadata?.name} ended without a complete sync; the last snapshot is intact`,
      );
      await c.kube.delete(job);
    }
  }
  const active = jobs.filter((j) => !j.status?.succeeded && !j.status?.failed);
  if (active.length === 0) {
    const used = new Set([...jobs, ...history].map((o) => o.metadata?.labels?.[syncIdLabel] ?? ''));
    await c.kube.create(
      receiverJob(pvc, freshSyncId(c.now(), used), { secret: spec.secret, image: c.image }),
    );
  }

  const ready = history
    .filter((s) => s.status?.readyToUse)
    .sort(
      (a, b) => Date.parse(b.status?.creationTime ?? '') - Date.parse(a.status?.creationTime ?? ''),
    );
  const latest = ready[0];
  if (latest && latest.metadata?.name !== status.latestSnapshot) {
    await c.kube.mergePatch(pvc, {
      metadata: {
        annotations: renderStatus({
          latestSnapshot: latest.metadata!.name!,
          latestSnapshotTime: latest.status?.creationTime ?? null,
        }),
      },
    });
  }
  const prune = snapshotsToPrune(
    history.map((s) => ({
      name: s.metadata!.name!,
      readyToUse: Boolean(s.status?.readyToUse),
      creationTime: s.status?.creationTime,
    })),
    spec.snapshotsToKeep,
  );
  for (const n of prune) {
    const s = history.find((h) => h.metadata?.name === n)!;
    await c.kube.delete(s);
  }
  await reconcileReadOnlyCopy(
    c,
    pvc,
    spec,
    owned,
    history.filter((h) => !prune.includes(h.metadata!.name!)),
  );
}
