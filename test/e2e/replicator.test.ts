// The replicator end to end on two stand-in clusters: a source PVC with data
// is synced on request through a clone (and then a snapshot) to a destination
// that snapshots each complete transfer; only changes cross the wire; a
// method the StorageClass cannot do fails with a clear status.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseStatus,
  renderSpec,
  specKeys,
  type DestinationSpec,
  type SourceSpec,
} from '../../model/src/index.ts';
import { kubeFrom, type Kube } from '../../replicator/src/kube.ts';
import { replicatorMetrics } from '../../replicator/src/metrics.ts';
import { reconcileAll, type ReplicatorOptions } from '../../replicator/src/run.ts';
import { BASIC_CLASS, CSI_CLASS, startCluster, type Cluster } from '../standin/cluster.ts';
import { harness, moverKeys, waitFor } from '../standin/cluster-testing.ts';
import { describeTree, diffTrees } from '../support/tree.ts';

let work: string;
let source: Cluster;
let destination: Cluster;
const ns = 'default';

function replicator(c: Cluster, identity: string): ReplicatorOptions {
  return {
    kube: kubeFrom(c.clients.kc),
    log: pino({ level: 'warn' }, pino.destination(2)),
    metrics: replicatorMetrics(),
    namespace: ns,
    identity,
    intervalMs: 200,
    leaseSeconds: 15,
    image: 'ghcr.io/backube/scribe:latest',
    copyTimeoutSeconds: 8,
  };
}

let src: ReplicatorOptions;
let dst: ReplicatorOptions;

/** Runs both clusters' replicators until `done` says so (bounded). */
async function drive<T>(what: string, done: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return waitFor(
    what,
    async () => {
      await reconcileAll(dst);
      await reconcileAll(src);
      return done();
    },
    ms,
  );
}

async function pvc(k: Kube, name: string): Promise<V1PersistentVolumeClaim> {
  return (await k.get<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', ns, name))!;
}

async function pvPath(c: Cluster, claim: string): Promise<string> {
  const bound = await waitFor(`${claim} to bind`, async () => {
    const p = await c.clients.core.readNamespacedPersistentVolumeClaim({
      name: claim,
      namespace: ns,
    });
    return p.spec?.volumeName ? p : undefined;
  });
  const pv = await c.clients.core.readPersistentVolume({ name: bound.spec!.volumeName! });
  return pv.spec!.local!.path;
}

async function claim(c: Cluster, name: string, cls: string, annotations: Record<string, string>) {
  await c.clients.core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name, annotations },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: cls,
        resources: { requests: { storage: '64Mi' } },
      },
    },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-e2e-'));
  source = await startCluster({ name: 'source', dir: join(work, 'source') });
  destination = await startCluster({ name: 'destination', dir: join(work, 'destination') });
  src = replicator(source, 'replicator-source');
  dst = replicator(destination, 'replicator-destination');
});

afterAll(async () => {
  await source?.stop().catch(() => undefined);
  await destination?.stop().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('scheduled replication between two clusters (stand-in)', () => {
  let endpoint: string;
  let sourceData: string;
  let destinationData: string;
  let firstSnapshot: string;

  it('runs the destination endpoint behind a load balancer', async () => {
    const keys = await moverKeys(join(work, 'keys'));
    await harness(destination.clients, ns).secretFrom('scribe-data', {
      host_ed25519: keys.host,
      'client_ed25519.pub': keys.clientPub,
    });
    await harness(source.clients, ns).secretFrom('scribe-data', {
      client_ed25519: keys.client,
      'host_ed25519.pub': keys.hostPub,
    });
    const spec: DestinationSpec = {
      role: 'destination',
      source: { context: 'source', namespace: ns, name: 'data' },
      secret: 'scribe-data',
      snapshotsToKeep: 2,
      serviceType: 'LoadBalancer',
    };
    await claim(destination, 'data', CSI_CLASS, renderSpec(spec));
    destinationData = await pvPath(destination, 'data');
    const svc = await drive('the endpoint Service to get an address', async () => {
      const s = await dst.kube.get<V1Service>('v1', 'Service', ns, 'scribe-data');
      return s?.status?.loadBalancer?.ingress?.[0]?.ip ? s : undefined;
    });
    endpoint = `${svc.status!.loadBalancer!.ingress![0]!.ip}:2222`;
  });

  it('syncs a clone of the source on request; the destination snapshots the complete copy', async () => {
    const spec: SourceSpec = {
      role: 'source',
      method: 'clone',
      destination: { context: 'destination', namespace: ns, name: 'data' },
      endpoint,
      secret: 'scribe-data',
      destinationVolumeMode: 'Filesystem',
      trigger: { kind: 'manual' },
      paused: false,
      liveRequiresRwo: false,
      checksumEvery: 0,
    };
    await claim(source, 'data', CSI_CLASS, renderSpec(spec));
    sourceData = await pvPath(source, 'data');
    await mkdir(join(sourceData, 'db'));
    for (let i = 0; i < 20; i++) {
      await writeFile(join(sourceData, 'db', `table-${i}`), `${'row\n'.repeat(5000)}${i}\n`);
    }
    const requested = new Date().toISOString();
    await src.kube.mergePatch(await pvc(src.kube, 'data'), {
      metadata: { annotations: { [specKeys.syncRequested]: requested } },
    });
    const status = await drive('the first sync to finish', async () => {
      const s = parseStatus((await pvc(src.kube, 'data')).metadata?.annotations);
      return s.lastSyncResult === 'Succeeded' || s.lastSyncResult === 'Failed' ? s : undefined;
    });
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({
      lastSyncResult: 'Succeeded',
      syncHandled: requested,
      syncCount: 1,
    });
    expect(status.lastSyncBytes).toBeGreaterThan(20 * 20_000 * 0.01);
    const diff = diffTrees(
      await describeTree(sourceData, { exclude: ['.scribe'] }),
      await describeTree(destinationData, { exclude: ['.scribe'] }),
    );
    expect(diff).toEqual([]);

    const snap = await drive('the destination snapshot', async () => {
      const s = parseStatus((await pvc(dst.kube, 'data')).metadata?.annotations);
      return s.latestSnapshot;
    });
    expect(snap).toMatch(/^scribe-data-/);
    firstSnapshot = snap;
    // The clone the sync read from is gone once the sync is recorded.
    const copies = await src.kube.list(
      'v1',
      'PersistentVolumeClaim',
      ns,
      'app.kubernetes.io/component=copy',
    );
    expect(copies).toEqual([]);
  });

  it('sends only the change on the next sync (a snapshot-based one)', async () => {
    await writeFile(join(sourceData, 'db', 'table-3'), 'changed\n');
    const requested = new Date(Date.now() + 1000).toISOString();
    await src.kube.mergePatch(await pvc(src.kube, 'data'), {
      metadata: {
        annotations: { [specKeys.method]: 'snapshot', [specKeys.syncRequested]: requested },
      },
    });
    const status = await drive('the second sync to finish', async () => {
      const s = parseStatus((await pvc(src.kube, 'data')).metadata?.annotations);
      return s.syncHandled === requested && s.lastSyncResult !== 'Running' ? s : undefined;
    });
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 2 });
    expect(status.lastSyncBytes).toBeLessThan(20_000);
    expect(await readFile(join(destinationData, 'db', 'table-3'), 'utf8')).toBe('changed\n');
    // Each complete transfer gets its own destination snapshot; both are kept.
    await drive('the second destination snapshot', async () => {
      const s = parseStatus((await pvc(dst.kube, 'data')).metadata?.annotations);
      return s.latestSnapshot !== firstSnapshot ? s.latestSnapshot : undefined;
    });
    const history = await dst.kube.list(
      'snapshot.storage.k8s.io/v1',
      'VolumeSnapshot',
      ns,
      'app.kubernetes.io/component=history',
    );
    expect(history.map((h) => h.metadata?.name).sort()).toContain(firstSnapshot);
    expect(history).toHaveLength(2);
  });

  it('fails clearly when the StorageClass cannot clone, and keeps the last snapshot', async () => {
    const before = parseStatus((await pvc(dst.kube, 'data')).metadata?.annotations).latestSnapshot;
    const spec: SourceSpec = {
      role: 'source',
      method: 'clone',
      destination: { context: 'destination', namespace: ns, name: 'data' },
      endpoint,
      secret: 'scribe-data',
      destinationVolumeMode: 'Filesystem',
      trigger: { kind: 'manual' },
      paused: false,
      liveRequiresRwo: false,
      checksumEvery: 0,
      syncRequested: new Date().toISOString(),
    };
    await claim(source, 'basic', BASIC_CLASS, renderSpec(spec));
    const status = await drive('the clone-less sync to fail', async () => {
      const s = parseStatus((await pvc(src.kube, 'basic')).metadata?.annotations);
      return s.lastSyncResult === 'Failed' ? s : undefined;
    });
    expect(status.lastSyncError).toMatch(/was not bound within 8s: ProvisioningFailed: .*clon/);
    expect(status.consecutiveFailures).toBe(1);
    expect(parseStatus((await pvc(dst.kube, 'data')).metadata?.annotations).latestSnapshot).toBe(
      before,
    );
  });
});
