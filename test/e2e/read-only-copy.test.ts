// A destination's read-only copy end to end on two stand-in clusters, set up
// with `kubectl scribe enable pvc --read-only-copy` and driven by both
// replicators: the copy appears with the newest snapshot's data byte for
// byte, is refreshed after the next sync, is replaced only once no pod
// mounts it, a scrub step's change shows in the copy and never in the
// destination's volume, and a failing scrub keeps the previous copy.
//
// The stand-in runs only Scribe's image (its programs are the host's), so
// the scrub step here is a real shell command in that image: it deletes one
// file and rewrites another on the copy, and fails while a marker exists.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSI_CLASS } from '../standin/cluster.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import {
  claim,
  drive,
  ns,
  onRealCluster,
  readClaim,
  registerScribe,
  requestSync,
  scribeWhileDriving,
  startStand,
  statusOf,
  syncEnded,
  volumeOf,
  writeBothKubeconfig,
  type Run,
  type Stand,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let kubeconfig: string;

const scribe = (...args: string[]): Promise<Run> =>
  scribeWhileDriving(kubeconfig, args, [s.src, s.dst]);
// Every enable here: the source claim to the destination cluster, with the copy data-ro.
const enableWithCopy = (...more: string[]): Promise<Run> =>
  scribe(
    ...['enable', 'pvc', 'data', '--context', 'source', '--to', 'destination'],
    ...['--method', 'clone', '--schedule', 'manual', '--read-only-copy', 'data-ro', ...more],
  );

const image = 'ghcr.io/backube/scribe:latest';
const scrubCommand = JSON.stringify([
  'sh',
  '-c',
  'test ! -e /data/poison && rm /data/pii.csv && sed -i s/secret/REDACTED/g /data/users.txt',
]);

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  kubeconfig = await writeBothKubeconfig(s);
  await registerScribe(s.source);
  await registerScribe(s.destination);
});
afterAll(() => s?.stop());

/** Files and metadata, without the mover's markers. */
const tree = (dir: string, leave: string[] = []) =>
  describeTree(dir, { exclude: ['.scribe', ...leave] });

/** Syncs now and returns the destination snapshot it produced. */
async function sync(): Promise<string> {
  const before = (await statusOf(s.destination, 'data')).latestSnapshot;
  const at = await requestSync(s, 'data');
  expect((await syncEnded(s, 'data', at)).lastSyncResult).toBe('Succeeded');
  return drive(s, 'a new destination snapshot', async () => {
    const st = await statusOf(s.destination, 'data');
    return st.latestSnapshot && st.latestSnapshot !== before ? st.latestSnapshot : undefined;
  });
}

/** The read-only copy's volume once it holds `snapshot`'s data. */
async function copyHolding(snapshot: string): Promise<string> {
  await drive(s, `data-ro to hold ${snapshot}`, async () => {
    const st = await statusOf(s.destination, 'data');
    if (st.readOnlyCopySnapshot !== snapshot) return undefined;
    const c = await readClaim(s.destination, 'data-ro').catch(() => undefined);
    return c?.spec?.volumeName && !c.metadata?.deletionTimestamp ? c : undefined;
  });
  return volumeOf(s.destination, 'data-ro');
}

suite('a read-only copy of the destination (stand-in)', () => {
  let source: string;
  let destination: string;
  let previous: { snapshot: string; dir: string };

  it('appears after the first sync with its data byte for byte, ReadOnlyMany', async () => {
    source = await claim(s.source, 'data', CSI_CLASS, {});
    await writeFile(join(source, 'users.txt'), 'alice secret\nbob secret\n');
    await writeFile(join(source, 'pii.csv'), 'name,ssn\nalice,123-45-6789\n');
    for (let i = 0; i < 5; i++) await writeFile(join(source, `t${i}`), `v1 ${i}\n`.repeat(1000));
    const r = await enableWithCopy();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'read-only copy: persistentvolumeclaim/data-ro (ReadOnlyMany, context destination, namespace default)',
    );
    destination = await volumeOf(s.destination, 'data');
    const snapshot = await sync();
    const dir = await copyHolding(snapshot);
    expect(diffTrees(await tree(source), await tree(dir))).toEqual([]);
    const copy = await readClaim(s.destination, 'data-ro');
    expect(copy.spec?.accessModes).toEqual(['ReadOnlyMany']);
    expect(copy.spec?.dataSource?.name).toBe(snapshot);
    const st = await statusOf(s.destination, 'data');
    expect(st.readOnlyCopyRefreshed).toBeDefined();
    const wide = await scribe('status', '--context', 'destination', '-o', 'wide');
    expect(wide.stdout).toMatch(new RegExp(`data-ro \\(${snapshot}, data \\S+ old\\)`));
    previous = { snapshot, dir };
  });

  it('is refreshed after the next sync, and kept while a pod mounts it', async () => {
    await writeFile(join(source, 't1'), 'v2\n');
    await writeFile(join(source, 'new'), 'arrived in sync 2\n');
    // An analytics pod reads the copy.
    await s.destination.clients.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'reader' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'r',
              image,
              command: ['sleep', '3600'],
              volumeMounts: [{ name: 'd', mountPath: '/data', readOnly: true }],
            },
          ],
          volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data-ro', readOnly: true } }],
        },
      },
    });
    await drive(s, 'the reader to run', async () => {
      const p = await s.destination.clients.core.readNamespacedPod({
        name: 'reader',
        namespace: ns,
      });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    const snapshot = await sync();
    await drive(s, 'the newer snapshot to wait for the reader', async () => {
      const st = await statusOf(s.destination, 'data');
      return st.readOnlyCopyPending === snapshot ? st : undefined;
    });
    // The reader still has the first sync's data, whole.
    const held = await readClaim(s.destination, 'data-ro');
    expect(held.metadata?.deletionTimestamp).toBeUndefined();
    expect(held.spec?.dataSource?.name).toBe(previous.snapshot);
    expect(await readFile(join(previous.dir, 't1'), 'utf8')).toBe('v1 1\n'.repeat(1000));

    await s.destination.clients.core.deleteNamespacedPod({
      name: 'reader',
      namespace: ns,
      gracePeriodSeconds: 0,
    });
    const dir = await copyHolding(snapshot);
    expect(diffTrees(await tree(source), await tree(dir))).toEqual([]);
    expect((await statusOf(s.destination, 'data')).readOnlyCopyPending).toBeUndefined();
    previous = { snapshot, dir };
  });

  it("with a scrub step, shows the scrub's change in the copy and never in the destination", async () => {
    const before = (await readClaim(s.destination, 'data')).metadata?.annotations;
    const dry = await enableWithCopy(
      '--scrub-image',
      image,
      '--scrub-command',
      scrubCommand,
      '--dry-run',
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/after the scrub step \(.*\) succeeds; .* \(dry run\)\n/);
    expect((await readClaim(s.destination, 'data')).metadata?.annotations).toEqual(before);
    const r = await enableWithCopy(
      '--scrub-image',
      image,
      '--scrub-command',
      scrubCommand,
      '--scrub-timeout',
      '2m',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`after the scrub step (${image}) succeeds`);
    await writeFile(join(source, 't2'), 'v3\n');
    const snapshot = await sync();
    const dir = await copyHolding(snapshot);
    const st = await statusOf(s.destination, 'data');
    expect(st.scrubResult).toBe('Succeeded');
    expect(st.scrubSnapshot).toBe(snapshot);
    // Scrubbed: pii.csv gone, users.txt rewritten; everything else byte for byte.
    await expect(readFile(join(dir, 'pii.csv'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(dir, 'users.txt'), 'utf8')).toBe('alice REDACTED\nbob REDACTED\n');
    const scrubbed = ['pii.csv', 'users.txt'];
    const copyTree = await tree(dir, scrubbed);
    const sourceTree = await tree(source, scrubbed);
    copyTree.delete(''); // the root's mtime moved with the scrub's rm
    sourceTree.delete('');
    expect(diffTrees(sourceTree, copyTree)).toEqual([]);
    // The replica itself is untouched, so failover still gets the real data.
    expect(await readFile(join(destination, 'users.txt'), 'utf8')).toBe(
      'alice secret\nbob secret\n',
    );
    expect(await readFile(join(destination, 'pii.csv'), 'utf8')).toContain('123-45-6789');
    expect(diffTrees(await tree(source), await tree(destination))).toEqual([]);
    previous = { snapshot, dir };
  });

  it('keeps the previous copy when the scrub fails, and retries with the next sync', async () => {
    await writeFile(join(source, 'poison'), 'the scrub refuses this\n');
    await writeFile(join(source, 't3'), 'v4\n');
    const failed = await sync();
    const st = await drive(s, 'the scrub to fail', async () => {
      const x = await statusOf(s.destination, 'data');
      return x.scrubResult === 'Failed' && x.scrubSnapshot === failed ? x : undefined;
    });
    expect(st.scrubError).toBe('the scrub container exited with code 1');
    expect(st.readOnlyCopySnapshot).toBe(previous.snapshot);
    const copy = await readClaim(s.destination, 'data-ro');
    expect(copy.metadata?.deletionTimestamp).toBeUndefined();
    expect(await readFile(join(previous.dir, 't3'), 'utf8')).toBe('v1 3\n'.repeat(1000));
    await expect(readFile(join(previous.dir, 'poison'))).rejects.toThrow(/ENOENT/);
    const events = await s.destination.clients.core.listNamespacedEvent({ namespace: ns });
    expect(
      events.items.filter((e) => e.involvedObject.name === 'data' && e.reason === 'ScrubFailed')[0]
        ?.message,
    ).toMatch(/scrub step on snapshot \S+ failed .*keeps its previous data/);
    // Nothing of the failed attempt is left running.
    const jobs = await s.destination.clients.batch.listNamespacedJob({ namespace: ns });
    expect(jobs.items.filter((j) => j.metadata?.name?.startsWith('scribe-scrub-'))).toEqual([]);

    await rm(join(source, 'poison'));
    const snapshot = await sync();
    const dir = await copyHolding(snapshot);
    expect(await readFile(join(dir, 't3'), 'utf8')).toBe('v4\n');
    expect(await readFile(join(dir, 'users.txt'), 'utf8')).toBe('alice REDACTED\nbob REDACTED\n');
    expect((await statusOf(s.destination, 'data')).scrubResult).toBe('Succeeded');
  });

  it('stops a scrub at its timeout and keeps the previous copy', async () => {
    const kept = (await statusOf(s.destination, 'data')).readOnlyCopySnapshot!;
    const r = await enableWithCopy(
      '--scrub-image',
      image,
      '--scrub-command',
      'sleep 300',
      '--scrub-timeout',
      '10s',
    );
    expect(r.code, r.stderr).toBe(0);
    await writeFile(join(source, 't4'), 'v5\n');
    const started = Date.now();
    const slow = await sync();
    const st = await drive(s, 'the scrub to time out', async () => {
      const x = await statusOf(s.destination, 'data');
      return x.scrubResult === 'Failed' && x.scrubSnapshot === slow ? x : undefined;
    });
    expect(st.scrubError).toBe('did not finish within 10s (scribe.backube.io/scrub-timeout)');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(st.readOnlyCopySnapshot).toBe(kept);
    const copy = await readClaim(s.destination, 'data-ro');
    expect(copy.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('disable removes the copy Scribe made and keeps the replica', async () => {
    const r = await scribe('disable', 'pvc', 'data', '--context', 'source');
    expect(r.code, r.stderr).toBe(0);
    await drive(s, 'the read-only copy to go', async () => {
      const c = await readClaim(s.destination, 'data-ro').catch(() => undefined);
      return c ? undefined : true;
    });
    expect(await readFile(join(destination, 'users.txt'), 'utf8')).toBe(
      'alice secret\nbob secret\n',
    );
  });
});
