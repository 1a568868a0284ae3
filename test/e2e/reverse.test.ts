// Reverse end to end on two stand-in clusters, through the real kubectl: a
// replica is failed over to the DR site, the application changes data there,
// and `kubectl scribe reverse pvc` replicates back into the primary's old
// claim. Only the differences cross (bytes in the status), and the primary
// ends up byte for byte the DR site's data.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drKeys, parseSpec, renderSpec, specKeys } from '../../model/src/index.ts';
import { CSI_CLASS } from '../standin/cluster.ts';
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
  registerScribe,
  scribeWhileDriving,
  writeBothKubeconfig,
  volumeOf,
  type Run,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let kubeconfig: string;

const scribe = (...args: string[]): Promise<Run> =>
  scribeWhileDriving(kubeconfig, [...args], [s.dst, s.src]);

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  kubeconfig = await writeBothKubeconfig(s);
  await registerScribe(s.source);
  await registerScribe(s.destination);
});
afterAll(() => s?.stop());

suite('reverse after a failover (stand-in)', () => {
  let primaryData: string;
  let drData: string;
  const size = 4 << 20;

  it('fails over a replica of 16 MiB to the DR site', async () => {
    const { endpoint } = await destinationFor(s, 'data');
    primaryData = await claim(
      s.source,
      'data',
      CSI_CLASS,
      renderSpec(sourceSpec('data', endpoint)),
    );
    await mkdir(join(primaryData, 'blobs'));
    for (let i = 0; i < 4; i++)
      await writeFile(join(primaryData, 'blobs', `b${i}`), randomBytes(size));
    const at = await requestSync(s, 'data');
    expect((await syncEnded(s, 'data', at)).lastSyncResult).toBe('Succeeded');
    await drive(s, 'the destination snapshot', async () => {
      return (await statusOf(s.destination, 'data')).latestSnapshot;
    });
    const r = await scribe('failover', 'pvc', 'data', '--context', 'destination', '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    drData = await volumeOf(s.destination, 'data');
    // The application at the DR site changes a little.
    await writeFile(join(drData, 'blobs', 'b2'), randomBytes(64 << 10), { flag: 'r+' });
    await writeFile(join(drData, 'new-at-dr'), 'written after the failover\n');
  });

  it('refuses without --yes (no terminal), and changes nothing', async () => {
    const before = await readClaim(s.source, 'data');
    const r = await scribe('reverse', 'pvc', 'data', '--context', 'destination');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Warning: persistentvolumeclaim "data" (context source, namespace default) is overwritten with this site\'s data',
    );
    expect(r.stderr).toMatch(
      /error: Reverse overwrites persistentvolumeclaim "data" .*confirm with --yes/,
    );
    expect((await readClaim(s.source, 'data')).metadata?.resourceVersion).toBe(
      before.metadata?.resourceVersion,
    );
  });

  it("replicates back into the primary's old claim; only the differences cross", async () => {
    const oldPrimary = await readClaim(s.source, 'data');
    const r = await scribe(
      'reverse',
      'pvc',
      'data',
      '--context',
      'destination',
      '--schedule',
      'manual',
      '--yes',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated: its replication to destination/default/data retired (context source, namespace default)',
    );
    expect(r.stdout).toContain('secret/scribe-data deleted (context source, namespace default)');
    expect(r.stdout).toMatch(
      /persistentvolumeclaim\/data protected: replicating to source\/default\/data/,
    );
    // The same claim (and volume) at the primary, now a destination.
    const primary = await readClaim(s.source, 'data');
    expect(primary.metadata?.uid).toBe(oldPrimary.metadata?.uid);
    expect(parseSpec(primary.metadata?.annotations).spec).toMatchObject({
      role: 'destination',
      source: { context: 'destination', namespace: ns, name: 'data' },
    });
    expect(primary.metadata?.annotations?.[drKeys.reversedFrom]).toBe('destination/default/data');

    // A sync from the DR site, driven by its replicator.
    const at = new Date().toISOString();
    await s.dst.kube.mergePatch(await readClaim(s.destination, 'data'), {
      metadata: { annotations: { [specKeys.syncRequested]: at } },
    });
    const st = await drive(s, 'the reverse sync', async () => {
      const x = await statusOf(s.destination, 'data');
      return x.syncHandled === at && x.lastSyncResult !== 'Running' ? x : undefined;
    });
    expect(st.lastSyncError).toBeUndefined();
    expect(st.lastSyncResult).toBe('Succeeded');
    // 16 MiB of data, 64 KiB changed: far less than the data crosses back.
    expect(st.lastSyncBytes).toBeLessThan(1 << 20);
    const diff = diffTrees(
      await describeTree(drData, { exclude: ['.scribe'] }),
      await describeTree(primaryData, { exclude: ['.scribe'] }),
    );
    expect(diff).toEqual([]);
  });

  it('a second reverse changes nothing', async () => {
    const r = await scribe('reverse', 'pvc', 'data', '--context', 'destination', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'persistentvolumeclaim/data unchanged: already replicating to source/default/data\n',
    );
  });

  it('fails back from the primary: a final sync carries the last writes, then the original direction', async () => {
    // The application at the DR site writes once more, then stops.
    await writeFile(join(drData, 'last-write-at-dr'), 'carried by the final sync\n');
    const r = await scribe('reverse', 'pvc', 'data', '--context', 'source', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^persistentvolumeclaim\/data synced in /m);
    expect(r.stdout).not.toContain('still has replication enabled');
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated: replication from destination/default/data stopped (context source, namespace default)',
    );
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated: its replication to source/default/data retired (context destination, namespace default)',
    );
    expect(r.stdout).toMatch(
      /persistentvolumeclaim\/data protected: replicating to destination\/default\/data/,
    );
    expect(r.stderr).not.toContain('incomplete');
    // Everything the DR site wrote is at the primary, which is the source again.
    const diff = diffTrees(
      await describeTree(drData, { exclude: ['.scribe'] }),
      await describeTree(primaryData, { exclude: ['.scribe'] }),
    );
    expect(diff).toEqual([]);
    expect(parseSpec((await readClaim(s.source, 'data')).metadata?.annotations).spec).toMatchObject(
      { role: 'source', destination: { context: 'destination', namespace: ns, name: 'data' } },
    );
    expect(
      parseSpec((await readClaim(s.destination, 'data')).metadata?.annotations).spec,
    ).toMatchObject({ role: 'destination', source: { context: 'source', name: 'data' } });
    // And it replicates again in the original direction, moving only changes.
    await writeFile(join(primaryData, 'after-failback'), 'primary again\n');
    const at = await requestSync(s, 'data');
    const st = await syncEnded(s, 'data', at);
    expect(st.lastSyncError).toBeUndefined();
    expect(st.lastSyncBytes).toBeLessThan(1 << 20);
  });
});
