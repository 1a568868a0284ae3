// Migration end to end on two stand-in clusters, through the real kubectl:
// `kubectl scribe migrate pvc` syncs while the application's Deployment runs,
// then the cutover scales it to zero, makes a final sync that compares
// contents, hands the destination claim over and reports the downtime. The
// data arrives byte for byte; a second run changes nothing; --rollback
// starts the workload again. Also within one cluster, to another StorageClass.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drKeys, parseSpec } from '../../model/src/index.ts';
import { BASIC_CLASS, CSI_CLASS } from '../standin/cluster.ts';
import { waitFor } from '../standin/cluster-testing.ts';
import { describeTree, diffTrees } from '../support/tree.ts';
import {
  claim,
  ns,
  onRealCluster,
  readClaim,
  startStand,
  volumeOf,
  type Run,
  type Stand,
  registerScribe,
  scribeWhileDriving,
  writeBothKubeconfig,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let kubeconfig: string;

const scribe = (...args: string[]): Promise<Run> =>
  scribeWhileDriving(kubeconfig, [...args, '--context', 'source'], [s.dst, s.src]);

/** The application: a Deployment whose pods mount the claim. */
async function app(name: string, claimName: string, replicas: number): Promise<void> {
  await s.source.clients.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: 'db', image: 'example.com/db:1' }],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
          },
        },
      },
    },
  });
  await waitFor(`${name}'s pods`, async () => {
    const pods = await s.source.clients.core.listNamespacedPod({ namespace: ns });
    const mine = pods.items.filter((p) => p.metadata?.labels?.app === name);
    return mine.length === replicas ? mine : undefined;
  });
}

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  kubeconfig = await writeBothKubeconfig(s);
  await registerScribe(s.source);
  await registerScribe(s.destination);
});
afterAll(() => s?.stop());

suite('migrate a PVC with its application (stand-in)', () => {
  let data: string;

  it('syncs in the background until a sync moves little, and says it is ready', async () => {
    data = await claim(s.source, 'data', CSI_CLASS, {});
    await mkdir(join(data, 'blobs'));
    for (let i = 0; i < 4; i++) await writeFile(join(data, 'blobs', `b${i}`), randomBytes(4 << 20));
    await app('db', 'data', 2);
    const r = await scribe('migrate', 'pvc', 'data', '--to', 'destination', '--max-delta', '1Mi');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^round 1: the sync moved 1[67](\.\d)?Mi$/m);
    expect(r.stdout).toMatch(/^round 2: the sync moved \d+(\.\d+)?Ki$/m);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data is ready to cut over: the last sync moved',
    );
    expect(r.stdout).toContain('--cutover to stop deployment.apps/db');
    // The application still runs.
    const d = await s.source.clients.apps.readNamespacedDeployment({ name: 'db', namespace: ns });
    expect(d.spec?.replicas).toBe(2);
  });

  it('cuts over: stops the application, final sync, hands over, reports the downtime', async () => {
    // The application writes until it is stopped.
    await writeFile(join(data, 'last-write'), 'written just before the cutover\n');
    const r = await scribe('migrate', 'pvc', 'data', '--to', 'destination', '--cutover', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps/db scaled to 0 (was 2)');
    expect(r.stdout).toMatch(/^final sync: moved \S+, contents compared$/m);
    expect(r.stdout).toContain(
      'persistentvolumeclaim/data annotated: replication from source/default/data stopped (context destination, namespace default)',
    );
    const downtime = /downtime (\S+) \(from stopping the workloads/.exec(r.stdout);
    expect(downtime, r.stdout).not.toBeNull();
    console.info(`migrate: downtime ${downtime![1]} on the stand-in (16 MiB, 2 replicas)`);

    const moved = await volumeOf(s.destination, 'data');
    expect(
      diffTrees(
        await describeTree(data, { exclude: ['.scribe'] }),
        await describeTree(moved, { exclude: ['.scribe'] }),
      ),
    ).toEqual([]);
    const src = await readClaim(s.source, 'data');
    expect(parseSpec(src.metadata?.annotations).enabled).toBe(false);
    expect(src.metadata?.annotations?.[drKeys.migratedTo]).toBe('destination/default/data');
    const dst = await readClaim(s.destination, 'data');
    expect(parseSpec(dst.metadata?.annotations).enabled).toBe(false);
    const d = await s.source.clients.apps.readNamespacedDeployment({ name: 'db', namespace: ns });
    expect(d.spec?.replicas).toBe(0);
    const pods = await s.source.clients.core.listNamespacedPod({ namespace: ns });
    expect(pods.items.filter((p) => p.metadata?.labels?.app === 'db')).toEqual([]);
  });

  it('a second run changes nothing; --rollback starts the application again', async () => {
    const again = await scribe(
      'migrate',
      'pvc',
      'data',
      '--to',
      'destination',
      '--cutover',
      '--yes',
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^persistentvolumeclaim\/data unchanged: migrated to destination\/default\/data at \S+\n$/,
    );
    const r = await scribe('migrate', 'pvc', 'data', '--rollback');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'what the application wrote on destination/default/data since the cutover stays there',
    );
    expect(r.stdout).toContain('deployment.apps/db scaled to 2');
    const d = await s.source.clients.apps.readNamespacedDeployment({ name: 'db', namespace: ns });
    expect(d.spec?.replicas).toBe(2);
  });

  it('moves a PVC to another StorageClass within one cluster', async () => {
    const dir = await claim(s.source, 'logs', CSI_CLASS, {});
    await writeFile(join(dir, 'app.log'), 'line\n'.repeat(10_000));
    const r = await scribe(
      'migrate',
      'pvc',
      'logs',
      '--to',
      'source/default/logs-basic',
      '--dest-storage-class',
      BASIC_CLASS,
      // The stand-in does not route ClusterIPs (10.96/12) from pods; a real cluster does.
      '--service-type',
      'LoadBalancer',
      '--cutover',
      '--yes',
      '--timeout',
      '60s',
    );
    expect(r.code, r.stderr).toBe(0);
    const moved = await readClaim(s.source, 'logs-basic');
    expect(moved.spec?.storageClassName).toBe(BASIC_CLASS);
    expect(
      diffTrees(
        await describeTree(dir, { exclude: ['.scribe'] }),
        await describeTree(await volumeOf(s.source, 'logs-basic'), { exclude: ['.scribe'] }),
      ),
    ).toEqual([]);
  });

  it('says what is wrong with bad input', async () => {
    const r = await scribe('migrate', 'pvc', 'data', '--to', 'destination', '--max-delta', 'lots');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid --max-delta "lots": use a quantity such as 64Mi\n');
    const n = await scribe('migrate', 'pvc', 'nope', '--to', 'destination');
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/persistentvolumeclaims "nope" not found/);
  });
});
