// The replicator end to end on two stand-in clusters: a source PVC with data
// is synced on request through a clone (and then a snapshot) to a destination
// that snapshots each complete transfer; only changes cross the wire; a
// method the StorageClass cannot do fails with a clear status.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec, specKeys } from '../../model/src/index.ts';
import { BASIC_CLASS, CSI_CLASS } from '../standin/cluster.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import {
  claim,
  copyTimeoutSeconds,
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

suite('scheduled replication between two clusters (stand-in)', () => {
  let endpoint: string;
  let sourceData: string;
  let destinationData: string;
  let firstSnapshot: string;

  it('runs the destination endpoint behind a load balancer', async () => {
    ({ dir: destinationData, endpoint } = await destinationFor(s, 'data'));
    expect(endpoint).toMatch(/^127\.\d+\.\d+\.\d+:2222$/);
  });

  it('syncs a clone of the source on request; the destination snapshots the complete copy', async () => {
    sourceData = await claim(s.source, 'data', CSI_CLASS, renderSpec(sourceSpec('data', endpoint)));
    await mkdir(join(sourceData, 'db'));
    for (let i = 0; i < 20; i++) {
      await writeFile(join(sourceData, 'db', `table-${i}`), `${'row\n'.repeat(5000)}${i}\n`);
    }
    const at = await requestSync(s, 'data');
    const status = await syncEnded(s, 'data', at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 1 });
    expect(status.lastSyncBytes).toBeGreaterThan(20 * 20_000 * 0.01);
    const diff = diffTrees(
      await describeTree(sourceData, { exclude: ['.scribe'] }),
      await describeTree(destinationData, { exclude: ['.scribe'] }),
    );
    expect(diff).toEqual([]);

    firstSnapshot = await drive(s, 'the destination snapshot', async () => {
      return (await statusOf(s.destination, 'data')).latestSnapshot;
    });
    expect(firstSnapshot).toMatch(/^scribe-data-/);
    // The clone the sync read from is gone once the sync is recorded.
    const copies = await s.src.kube.list(
      'v1',
      'PersistentVolumeClaim',
      ns,
      'app.kubernetes.io/component=copy',
    );
    expect(copies).toEqual([]);
  });

  it('sends only the change on the next sync (a snapshot-based one)', async () => {
    await writeFile(join(sourceData, 'db', 'table-3'), 'changed\n');
    const at = await requestSync(s, 'data', { [specKeys.method]: 'snapshot' });
    const status = await syncEnded(s, 'data', at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 2 });
    expect(status.lastSyncBytes).toBeLessThan(20_000);
    expect(await readFile(join(destinationData, 'db', 'table-3'), 'utf8')).toBe('changed\n');
    // Each complete transfer gets its own destination snapshot; both are kept.
    await drive(s, 'the second destination snapshot', async () => {
      const latest = (await statusOf(s.destination, 'data')).latestSnapshot;
      return latest !== firstSnapshot ? latest : undefined;
    });
    const history = await s.dst.kube.list(
      'snapshot.storage.k8s.io/v1',
      'VolumeSnapshot',
      ns,
      'app.kubernetes.io/component=history',
    );
    expect(history.map((h) => h.metadata?.name)).toContain(firstSnapshot);
    expect(history).toHaveLength(2);
  });

  it('starts a sync when its cron schedule fires, and records the next one', async () => {
    // The replicator's clock is moved to just past the scheduled time, so the
    // test need not wait for a real minute boundary.
    let clock = new Date();
    s.src.now = () => clock;
    const snapshotBefore = (await statusOf(s.destination, 'data')).latestSnapshot;
    try {
      await s.src.kube.mergePatch(await readClaim(s.source, 'data'), {
        metadata: { annotations: { [specKeys.schedule]: '*/5 * * * *' } },
      });
      const scheduled = await drive(s, 'the next sync time', async () => {
        return (await statusOf(s.source, 'data')).nextSync;
      });
      expect(Date.parse(scheduled)).toBeGreaterThan(clock.getTime());
      expect(new Date(scheduled).getUTCMinutes() % 5).toBe(0);
      await writeFile(join(sourceData, 'db', 'table-7'), 'scheduled change\n');
      clock = new Date(Date.parse(scheduled) + 1000);
      const status = await drive(s, 'the scheduled sync to finish', async () => {
        const st = await statusOf(s.source, 'data');
        return st.syncCount === 3 && st.lastSyncResult !== 'Running' ? st : undefined;
      });
      expect(status).toMatchObject({ lastSyncResult: 'Succeeded', missedIntervals: 0 });
      expect(status.lastSyncStart).toBe(clock.toISOString());
      expect(Date.parse(status.nextSync!)).toBe(Date.parse(scheduled) + 5 * 60_000);
      expect(await readFile(join(destinationData, 'db', 'table-7'), 'utf8')).toBe(
        'scheduled change\n',
      );
      await drive(s, 'the destination snapshot of the scheduled sync', async () => {
        const latest = (await statusOf(s.destination, 'data')).latestSnapshot;
        return latest !== snapshotBefore ? latest : undefined;
      });
    } finally {
      s.src.now = undefined;
      await s.src.kube.mergePatch(await readClaim(s.source, 'data'), {
        metadata: { annotations: { [specKeys.schedule]: 'manual' } },
      });
    }
  });

  it('fails clearly when the StorageClass cannot clone, and keeps the last snapshot', async () => {
    const before = (await statusOf(s.destination, 'data')).latestSnapshot;
    await claim(s.source, 'basic', BASIC_CLASS, renderSpec(sourceSpec('data', endpoint)));
    const at = await requestSync(s, 'basic');
    const status = await syncEnded(s, 'basic', at);
    expect(status.lastSyncError).toMatch(
      new RegExp(`was not bound within ${copyTimeoutSeconds}s: ProvisioningFailed: .*clon`),
    );
    expect(status.consecutiveFailures).toBe(1);
    expect((await statusOf(s.destination, 'data')).latestSnapshot).toBe(before);
  });

  it('replicates a claim whose name is longer than a label value and has a dot', async () => {
    // PVC names may hold 253 characters and dots; label values hold 63 and
    // Service names no dots: the objects Scribe makes for this claim must
    // still pass the API server's validation.
    const long = `data.${'analytics-warehouse-'.repeat(4)}0`;
    expect(long.length).toBeGreaterThan(63);
    const { dir: destDir, endpoint: longEndpoint } = await destinationFor(s, long);
    const src = await claim(s.source, long, CSI_CLASS, renderSpec(sourceSpec(long, longEndpoint)));
    await writeFile(join(src, 'report.csv'), 'id,total\n1,42\n');
    const at = await requestSync(s, long);
    const status = await syncEnded(s, long, at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 1 });
    expect(await readFile(join(destDir, 'report.csv'), 'utf8')).toBe('id,total\n1,42\n');
    const snapshot = await drive(
      s,
      'the destination snapshot of the long-named claim',
      async () => {
        return (await statusOf(s.destination, long)).latestSnapshot;
      },
    );
    expect(snapshot.length).toBeLessThanOrEqual(253);
  });
});
