// Faults during replication on two stand-in clusters: the mover killed in the
// middle of a transfer, and the replicator process itself killed mid-sync.
// Neither may damage the destination's last complete snapshot, and the next
// sync must complete.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec, renderStatus, statusKeys } from '../../model/src/index.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { CSI_CLASS } from '../standin/cluster.ts';
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

const run = promisify(execFile);
const replicatorBin = fileURLToPath(
  new URL('../../replicator/bin/scribe-replicator.ts', import.meta.url),
);

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
let sourceData: string;
let destinationData: string;
let endpoint: string;

async function sameData(): Promise<void> {
  const diff = diffTrees(
    await describeTree(sourceData, { exclude: ['.scribe'] }),
    await describeTree(destinationData, { exclude: ['.scribe'] }),
  );
  expect(diff).toEqual([]);
}

beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
  ({ dir: destinationData, endpoint } = await destinationFor(s, 'big'));
  sourceData = await claim(s.source, 'big', CSI_CLASS, renderSpec(sourceSpec('big', endpoint)));
  await mkdir(join(sourceData, 'blobs'));
  for (let i = 0; i < 4; i++)
    await writeFile(join(sourceData, 'blobs', `b${i}`), randomBytes(4 << 20));
  const at = await requestSync(s, 'big');
  expect((await syncEnded(s, 'big', at)).lastSyncResult).toBe('Succeeded');
});
afterAll(() => s?.stop());

suite('faults during replication (stand-in)', () => {
  it('keeps the last snapshot when the mover is killed mid-transfer, and the next sync completes', async () => {
    const before = await drive(s, 'the first destination snapshot', async () => {
      return (await statusOf(s.destination, 'big')).latestSnapshot;
    });
    // Enough new data that the transfer is still running when the pod dies.
    for (let i = 0; i < 24; i++) {
      await writeFile(join(sourceData, 'blobs', `new-${i}`), randomBytes(8 << 20));
    }
    const at = await requestSync(s, 'big');
    // SIGKILL the mover process the stand-in's kubelet started for the Job,
    // as soon as it exists: 200 MiB cannot have crossed by then.
    const pids = await drive(s, 'the sender process', async () => {
      const r = await run('pgrep', ['-f', `scribe-mover.js send .*--to ${endpoint}`]).catch(() => ({
        stdout: '',
      }));
      const found = r.stdout.split('\n').filter(Boolean).map(Number);
      return found.length > 0 ? found : undefined;
    });
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const failed = await syncEnded(s, 'big', at);
    expect(failed.lastSyncResult).toBe('Failed');
    expect(failed.consecutiveFailures).toBe(1);
    // Only a complete transfer is snapshotted: the latest is still the first.
    for (let i = 0; i < 10; i++) await reconcileAll(s.dst);
    expect((await statusOf(s.destination, 'big')).latestSnapshot).toBe(before);

    // The retry (after a backoff of about a second) completes the copy.
    const done = await drive(s, 'the retry to succeed', async () => {
      const st = await statusOf(s.source, 'big');
      return st.lastSyncResult === 'Succeeded' ? st : undefined;
    });
    expect(done).toMatchObject({ consecutiveFailures: 0, syncCount: 2 });
    await sameData();
  });

  it('resumes a sync when the replicator process is killed in the middle of it', async () => {
    const kubeconfig = join(s.work, 'source.kubeconfig');
    await s.source.api.writeKubeconfig(kubeconfig, 'source');
    const start = () =>
      spawn(
        process.execPath,
        [
          replicatorBin,
          '--kubeconfig',
          kubeconfig,
          '--namespace',
          ns,
          '--interval',
          '0.2',
          '--metrics-port',
          '0',
          '--identity',
          'replicator-source',
          '--retry-base',
          '1',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    let stderr = '';
    await writeFile(join(sourceData, 'blobs', 'b1'), randomBytes(4 << 20));
    const at = await requestSync(s, 'big');
    const first = start();
    first.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const firstExit = new Promise((r) => first.once('exit', r));
    try {
      // Killed once the sync has started, before it could finish.
      await waitFor('the replicator to start the sync', async () => {
        const st = await statusOf(s.source, 'big');
        return st.syncHandled === at ? true : undefined;
      });
    } finally {
      first.kill('SIGKILL');
      await firstExit;
    }
    expect((await statusOf(s.source, 'big')).lastSyncResult).toBe('Running');

    // A new process (same identity, so it holds the lease at once) picks it up.
    const second = start();
    second.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const secondExit = new Promise((r) => second.once('exit', r));
    let own = '';
    second.stderr?.on('data', (d: string) => (own += d));
    try {
      // SIGUSR1 would open Node.js's inspector on 127.0.0.1:9229 in the process
      // holding the API token; the replicator must shrug it off and carry on.
      await waitFor('the restarted replicator to start', async () =>
        own.includes('"msg":"starting"') ? true : undefined,
      );
      second.kill('SIGUSR1');
      const st = await waitFor(
        'the restarted replicator to finish the sync',
        async () => {
          await reconcileAll(s.dst);
          const v = await statusOf(s.source, 'big');
          return v.lastSyncResult === 'Succeeded' && v.syncHandled === at ? v : undefined;
        },
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nreplicator stderr:\n${stderr.slice(-3000)}`);
      });
      expect(st.syncCount).toBe(3);
    } finally {
      second.kill('SIGTERM');
      await secondExit;
    }
    // Stopped, it frees the Lease for a standby.
    expect(own).toContain('"msg":"released the Lease"');
    expect(stderr).not.toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    expect(stderr).not.toMatch(/Debugger|inspector/i);
    // One claim, four workers: no pass may fail on the claims running out.
    expect(stderr).not.toContain('replicator pass failed');
    await sameData();
    const annotations = (
      await s.source.clients.core.readNamespacedPersistentVolumeClaim({
        name: 'big',
        namespace: ns,
      })
    ).metadata!.annotations!;
    expect(annotations[statusKeys.lastSyncError]).toBeUndefined();
  });

  it('carries on a sync whose start was recorded but whose copy was never made', async () => {
    // What a replicator leaves when it dies between the two steps of a start.
    const before = await statusOf(s.source, 'big');
    const startedAt = new Date().toISOString();
    await s.src.kube.mergePatch(await readClaim(s.source, 'big'), {
      metadata: {
        annotations: renderStatus({ lastSyncResult: 'Running', lastSyncStart: startedAt }),
      },
    });
    const st = await drive(s, 'the interrupted sync to be carried on', async () => {
      const v = await statusOf(s.source, 'big');
      return v.lastSyncResult !== 'Running' ? v : undefined;
    });
    expect(st).toMatchObject({
      lastSyncResult: 'Succeeded',
      lastSyncStart: startedAt,
      syncCount: (before.syncCount ?? 0) + 1,
    });
    await sameData();
  });
});
