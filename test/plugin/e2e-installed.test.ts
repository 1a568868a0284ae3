// What `kubectl scribe install` puts into two clusters really replicates:
// both stand-in clusters get Scribe from manifests/ (the webhook and the
// replicator run as the Deployments' pods), then a PVC with files is
// protected with `kubectl scribe enable`, synced with `kubectl scribe sync
// --wait`, and the destination volume is compared with the source, file by
// file. Nothing here plays Scribe's part: only the installed pods do.
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../standin/cluster.ts';
import { waitFor } from '../standin/cluster-testing.ts';
import { startTwoClusters, type TwoClusters } from '../standin/two-clusters.ts';
import { describeTree, diffTrees } from '../support/tree.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const pluginBin = join(import.meta.dirname, '..', '..', 'plugin', 'bin');

let work: string;
let clusters: TwoClusters;
let env: NodeJS.ProcessEnv;

function kubectl(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      { env, timeout: 180_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

async function volumeDir(c: Cluster, claim: string): Promise<string> {
  const bound = await waitFor(`${claim} to bind in ${c.name}`, async () => {
    const p = await c.clients.core.readNamespacedPersistentVolumeClaim({
      name: claim,
      namespace: 'default',
    });
    return p.spec?.volumeName ? p : undefined;
  });
  const pv = await c.clients.core.readPersistentVolume({ name: bound.spec!.volumeName! });
  return pv.spec!.local!.path;
}

describe.skipIf(!hasKubectl)('Scribe as installed replicates', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'scribe-installed-'));
    clusters = await startTwoClusters(join(work, 'clusters'), { log: () => undefined });
    await clusters.writeKubeconfig(join(work, 'kubeconfig'));
    env = {
      PATH: `${pluginBin}:${process.env.PATH}`,
      HOME: work,
      KUBECONFIG: join(work, 'kubeconfig'),
      SCRIBE_POLL_MS: '200',
    };
  }, 60_000);

  afterAll(async () => {
    await clusters?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('install on both clusters, enable, sync --wait: the destination holds the source files', async () => {
    const installs = await Promise.all(
      ['source', 'destination'].map((c) =>
        kubectl(['scribe', 'install', '--context', c, '--wait-timeout', '2m']),
      ),
    );
    for (const r of installs) expect(r.code, r.out).toBe(0);

    const created = await kubectl(
      ['--context', 'source', 'apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: 'default' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'standin-csi',
          resources: { requests: { storage: '64Mi' } },
        },
      }),
    );
    expect(created.code, created.out).toBe(0);
    const source = await volumeDir(clusters.source, 'data');
    await mkdir(join(source, 'orders'), { recursive: true });
    for (let i = 0; i < 50; i++) {
      await writeFile(join(source, 'orders', `order-${i}.json`), JSON.stringify({ id: i }));
    }
    await writeFile(join(source, 'catalog.db'), Buffer.alloc(2 << 20, 7));

    const enabled = await kubectl([
      'scribe',
      'enable',
      'pvc',
      'data',
      '--to',
      'destination',
      '--schedule',
      'manual',
    ]);
    expect(enabled.code, enabled.out).toBe(0);
    // The destination's installed replicator runs the endpoint, not the plugin.
    expect(enabled.out).toContain("the endpoint Scribe's server runs");
    const synced = await kubectl(['scribe', 'sync', 'pvc', 'data', '--wait', '--timeout', '3m']);
    expect(synced.code, synced.out).toBe(0);
    // The file count is the last transfer attempt's (a retried attempt may
    // find little left to send); the data is checked below, file by file.
    expect(synced.out).toMatch(/persistentvolumeclaim\/data synced in /);

    const destination = await volumeDir(clusters.destination, 'data');
    const diff = diffTrees(
      await describeTree(source, { exclude: ['.scribe'] }),
      await describeTree(destination, { exclude: ['.scribe'] }),
    );
    expect(diff).toEqual([]);
  }, 300_000);
});
