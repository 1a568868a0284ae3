// Disabling or deleting a replicated claim on two stand-in clusters: the
// replicator's finalizer lets it remove the copies, mover Jobs and endpoint it
// made, and never the user's claim, its data or the destination's snapshots.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableAnnotationsPatch, renderSpec } from '../../model/src/index.ts';
import { finalizer } from '../../replicator/src/finalizer.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { CSI_CLASS, type Cluster } from '../standin/cluster.ts';
import { waitFor } from '../standin/cluster-testing.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import {
  claim,
  destinationFor,
  drive,
  ns,
  onRealCluster,
  readClaim,
  requestSync,
  sourceSpec,
  startStand,
  statusOf,
  syncEnded,
  type Stand,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
});
afterAll(() => s?.stop());

/** What Scribe made for claim `pvc` in cluster `c`, as KIND/COMPONENT. */
async function madeFor(c: Cluster, pvc: string): Promise<string[]> {
  const kube = c === s.source ? s.src.kube : s.dst.kube;
  const selector = `app.kubernetes.io/managed-by=scribe,scribe.backube.io/pvc=${pvc}`;
  const found: KubernetesObject[] = [
    ...(await kube.list('batch/v1', 'Job', ns, selector)),
    ...(await kube.list('v1', 'PersistentVolumeClaim', ns, selector)),
    ...(await kube.list('v1', 'Service', ns, selector)),
    ...(await kube.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', ns, selector)),
  ];
  return found.map((o) => `${o.kind}/${o.metadata?.labels?.['app.kubernetes.io/component']}`);
}

/** A replicated pair `name` with data, synced once; returns both volume directories. */
async function syncedPair(name: string): Promise<{ src: string; dst: string; snapshot: string }> {
  const { dir: dst, endpoint } = await destinationFor(s, name);
  const src = await claim(s.source, name, CSI_CLASS, renderSpec(sourceSpec(name, endpoint)));
  await mkdir(join(src, 'db'));
  for (let i = 0; i < 10; i++) await writeFile(join(src, 'db', `t${i}`), `row ${i}\n`.repeat(999));
  const at = await requestSync(s, name);
  expect((await syncEnded(s, name, at)).lastSyncResult).toBe('Succeeded');
  const snapshot = await drive(s, `the destination snapshot of ${name}`, async () => {
    return (await statusOf(s.destination, name)).latestSnapshot;
  });
  return { src, dst, snapshot };
}

const tree = (dir: string) => describeTree(dir, { exclude: ['.scribe'] });

/** Starts a sync and stops once its point-in-time copy exists (the sync is in progress). */
async function syncInProgress(name: string): Promise<void> {
  await requestSync(s, name);
  await waitFor(`the copy of ${name}`, async () => {
    await reconcileAll(s.src);
    return (await madeFor(s.source, name)).includes('PersistentVolumeClaim/copy') || undefined;
  });
}

suite('disabling and deleting replicated claims (stand-in)', () => {
  it('puts its finalizer on both claims it replicates', async () => {
    await syncedPair('kept');
    for (const c of [s.source, s.destination])
      expect((await readClaim(c, 'kept')).metadata?.finalizers).toContain(finalizer);
  });

  it('disabling a source mid-sync removes its copy and sender, and keeps the claim and its data', async () => {
    const src = (await readClaim(s.source, 'kept')).spec!.volumeName!;
    const before = await tree(
      (await s.source.clients.core.readPersistentVolume({ name: src })).spec!.local!.path,
    );
    await syncInProgress('kept');
    // As `kubectl scribe disable pvc` does on the source.
    const pvc = await readClaim(s.source, 'kept');
    await s.src.kube.mergePatch(pvc, {
      metadata: { annotations: disableAnnotationsPatch(pvc.metadata?.annotations) },
    });
    await drive(s, 'the source to be cleaned up', async () => {
      const made = await madeFor(s.source, 'kept');
      const fin = (await readClaim(s.source, 'kept')).metadata?.finalizers ?? [];
      return made.length === 0 && !fin.includes(finalizer) ? true : undefined;
    });
    const after = await readClaim(s.source, 'kept');
    expect(after.metadata?.deletionTimestamp).toBeUndefined();
    expect(after.spec?.volumeName).toBe(src);
    const dir = (await s.source.clients.core.readPersistentVolume({ name: src })).spec!.local!.path;
    expect(diffTrees(before, await tree(dir))).toEqual([]);
  });

  it('disabling a destination removes its endpoint and receiver, and keeps the claim, its data and snapshots', async () => {
    const pvc = await readClaim(s.destination, 'kept');
    const dir = (
      await s.destination.clients.core.readPersistentVolume({ name: pvc.spec!.volumeName! })
    ).spec!.local!.path;
    const before = await tree(dir);
    expect(await madeFor(s.destination, 'kept')).toEqual(
      expect.arrayContaining(['Job/receiver', 'Service/endpoint', 'VolumeSnapshot/history']),
    );
    await s.dst.kube.mergePatch(pvc, {
      metadata: { annotations: disableAnnotationsPatch(pvc.metadata?.annotations) },
    });
    const left = await drive(s, 'the destination to be cleaned up', async () => {
      const made = await madeFor(s.destination, 'kept');
      const fin = (await readClaim(s.destination, 'kept')).metadata?.finalizers ?? [];
      return made.every((m) => m === 'VolumeSnapshot/history') && !fin.includes(finalizer)
        ? made
        : undefined;
    });
    expect(left.length).toBeGreaterThan(0);
    expect((await readClaim(s.destination, 'kept')).metadata?.deletionTimestamp).toBeUndefined();
    expect(diffTrees(before, await tree(dir))).toEqual([]);
  });

  it('deleting a destination whose receiver mounts it lets it go; its snapshots stay', async () => {
    const { snapshot } = await syncedPair('dropped');
    expect(await madeFor(s.destination, 'dropped')).toContain('Job/receiver');
    await s.destination.clients.core.deleteNamespacedPersistentVolumeClaim({
      name: 'dropped',
      namespace: ns,
    });
    // Without the finalizer this waits forever: pvc-protection holds the claim
    // for the receiver's pod, the garbage collector holds the Job for the claim.
    await drive(s, 'the destination claim to go', async () => {
      const gone = await readClaim(s.destination, 'dropped').then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      );
      return gone || undefined;
    });
    expect(await madeFor(s.destination, 'dropped')).toEqual(['VolumeSnapshot/history']);
    const snaps = await s.dst.kube.list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', ns);
    expect(snaps.map((x) => x.metadata?.name)).toContain(snapshot);
  });

  it('deleting a source mid-sync removes its copy and sender with it', async () => {
    await syncInProgress('dropped');
    await s.source.clients.core.deleteNamespacedPersistentVolumeClaim({
      name: 'dropped',
      namespace: ns,
    });
    await drive(s, 'the source claim and its copy to go', async () => {
      const gone = await readClaim(s.source, 'dropped').then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      );
      return gone && (await madeFor(s.source, 'dropped')).length === 0 ? true : undefined;
    });
  });
});
