// A pass lists each kind once and hands each claim its share (grouping by the
// scribe.backube.io/pvc label, the sync in progress, and the request count
// against the recording API whatever the number of claims), and keeps the
// Lease through a long pass.
import type { V1Job, V1Lease, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { renderSpec } from '../../model/src/index.ts';
import {
  cloneClaim,
  senderJob,
  snapshotOf,
  endpointService,
} from '../../replicator/src/objects.ts';
import { groupOwned, ownedBy } from '../../replicator/src/owned.ts';
import { reconcileAll, runReplicator } from '../../replicator/src/run.ts';
import { currentSync } from '../../replicator/src/source.ts';
import { passOptions, recordingKube } from '../manifests/support/recording-kube.ts';

const pvc = (name: string, namespace = 'app'): V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace, uid: `uid-${name}` },
  spec: { resources: { requests: { storage: '1Gi' } } },
});

describe('what a pass sees, grouped by claim', () => {
  it('gives each claim only its own objects, by namespace and label', () => {
    const a = pvc('a');
    const otherA = pvc('a', 'other');
    const job = senderJob(a, 'copy', 'h:2222', 's1', { secret: 'k', checksum: false });
    const foreign: V1Job = {
      metadata: { name: 'x', namespace: 'app', labels: { 'scribe.backube.io/pvc': 'a' } },
    };
    const g = groupOwned({
      claims: [a, otherA, cloneClaim(a, 's1'), cloneClaim(otherA, 's2')],
      jobs: [job, foreign],
      snapshots: [snapshotOf(a, 'snap-a', 'history', 's0')],
      services: [endpointService(otherA, 'ClusterIP')],
      pods: [],
    });
    const mine = ownedBy(g, a);
    expect(mine.claims.map((c) => c.metadata?.name)).toEqual(['scribe-clone-a-s1']);
    // Not managed by Scribe: not Scribe's to touch.
    expect(mine.jobs.map((j) => j.metadata?.name)).toEqual(['scribe-send-a-s1']);
    expect(mine.snapshots.map((s) => s.metadata?.name)).toEqual(['snap-a']);
    expect(mine.services).toEqual([]);
    expect(ownedBy(g, otherA).services.map((s) => s.metadata?.name)).toEqual(['scribe-a']);
    expect(ownedBy(g, pvc('none'))).toEqual({
      jobs: [],
      claims: [],
      snapshots: [],
      services: [],
      pods: [],
    });
  });

  it('groups the objects of a claim whose name is longer than a label value may be', () => {
    const long = pvc(`data-${'warehouse-'.repeat(8)}0`);
    const job = senderJob(long, 'copy', 'h:2222', 's1', { secret: 'k', checksum: false });
    const g = groupOwned({
      claims: [long, cloneClaim(long, 's1')],
      jobs: [job],
      snapshots: [],
      services: [],
      pods: [],
    });
    expect(ownedBy(g, long).jobs).toEqual([job]);
    expect(ownedBy(g, long).claims).toHaveLength(1);
  });

  it('finds the newest sync among copies and sender Jobs, and only its objects', () => {
    const a = pvc('a');
    const owned = {
      jobs: [senderJob(a, 'c', 'h:2222', '20260101t000000z', { secret: 'k', checksum: false })],
      claims: [cloneClaim(a, '20260101t000000z'), cloneClaim(a, '20260102t000000z')],
      snapshots: [snapshotOf(a, 'hist', 'history', '20260103t000000z')],
      services: [],
      pods: [],
    };
    const sync = currentSync(owned)!;
    // The history snapshot is the destination's, not a sync in progress.
    expect(sync.syncId).toBe('20260102t000000z');
    expect(sync.claim?.metadata?.name).toBe('scribe-clone-a-20260102t000000z');
    expect(sync.job).toBeUndefined();
    expect(currentSync({ ...owned, jobs: [], claims: [] })).toBeUndefined();
  });
});

describe('a pass over many claims', () => {
  it('makes five list calls however many claims are replicated', async () => {
    const counts: number[] = [];
    for (const n of [3, 30]) {
      const api = recordingKube();
      for (let i = 0; i < n; i++) {
        const c = pvc(`src-${i}`);
        c.metadata!.annotations = renderSpec({
          role: 'source',
          method: 'clone',
          destination: { context: 'dst', namespace: 'app', name: `src-${i}` },
          endpoint: '10.0.0.7:2222',
          secret: 'k',
          destinationVolumeMode: 'Filesystem',
          trigger: { kind: 'manual' },
          paused: false,
          liveRequiresRwo: false,
          checksumEvery: 0,
          syncRequested: '2026-01-01T00:00:00Z',
        });
        api.put(c as never);
        const d = pvc(`dst-${i}`);
        d.metadata!.annotations = renderSpec({
          role: 'destination',
          source: { context: 'src', namespace: 'app', name: `src-${i}` },
          secret: 'k',
          snapshotsToKeep: 2,
          serviceType: 'ClusterIP',
        });
        api.put(d as never);
      }
      const o = passOptions(api.kube);
      // Two passes: the first starts syncs and endpoints, the second carries them on.
      for (let pass = 0; pass < 2; pass++) {
        api.requests.length = 0;
        expect(await reconcileAll(o)).toBe(2 * n);
        const lists = api.requests.filter((r) => r.verb === 'list');
        expect(lists.map((r) => r.resource).sort()).toEqual([
          'jobs',
          'persistentvolumeclaims',
          'pods',
          'services',
          'volumesnapshots',
        ]);
        expect(lists.every((r) => r.namespace === undefined)).toBe(true);
      }
      counts.push(api.requests.filter((r) => r.verb === 'get').length);
    }
    // No per-claim reads either.
    expect(counts).toEqual([0, 0]);
  });
});

describe('a long pass', () => {
  const claims = (api: ReturnType<typeof recordingKube>, n: number) => {
    for (let i = 0; i < n; i++) {
      const c = pvc(`src-${i}`);
      c.metadata!.annotations = renderSpec({
        role: 'source',
        method: 'clone',
        destination: { context: 'dst', namespace: 'app', name: `src-${i}` },
        endpoint: '10.0.0.7:2222',
        secret: 'k',
        destinationVolumeMode: 'Filesystem',
        trigger: { kind: 'schedule', cron: '*/5 * * * *' },
        paused: false,
        liveRequiresRwo: false,
        checksumEvery: 0,
      });
      api.put(c as never);
    }
  };
  // A clock that moves a second each time it is read: a slow API server.
  const options = (api: ReturnType<typeof recordingKube>) => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    return passOptions(api.kube, { identity: 'me', now: () => new Date((t += 1000)) });
  };
  const onePass = async (o: Parameters<typeof runReplicator>[0]) => {
    const ac = new AbortController();
    const running = runReplicator(o, ac.signal);
    ac.abort();
    await running;
  };
  const scheduled = (api: ReturnType<typeof recordingKube>) =>
    [...api.objects.values()].filter(
      (x) => x.metadata?.annotations?.['status.scribe.backube.io/next-sync'],
    ).length;

  it('renews the Lease as it goes, so that it never lapses mid-pass', async () => {
    const api = recordingKube();
    claims(api, 40);
    await onePass(options(api));
    expect(scheduled(api)).toBe(40);
    const renewals = api.requests.filter((r) => r.resource === 'leases' && r.verb === 'patch');
    // The pass read the clock well over 15 s worth; renewed every third of it.
    expect(renewals.length).toBeGreaterThan(3);
  });

  it('with fewer claims than workers, reconciles each once and the pass does not fail', async () => {
    const api = recordingKube();
    claims(api, 1);
    const errors: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => errors.push(line) });
    const o = { ...options(api), log, workers: 4 };
    await onePass(o);
    expect(errors).toEqual([]);
    expect(scheduled(api)).toBe(1);
    // One claim, one schedule written: no worker reconciled it a second time.
    const claimPatches = api.requests.filter(
      (r) => r.resource === 'persistentvolumeclaims' && r.verb === 'patch',
    );
    expect(claimPatches.length).toBeGreaterThan(0);
    expect(new Set(claimPatches.map((r) => r.name))).toEqual(new Set(['src-0']));
  });

  it('frees the Lease when it stops, so a standby leads at its next pass', async () => {
    const api = recordingKube();
    claims(api, 2);
    const lease = () => [...api.objects.values()].find((x) => x.kind === 'Lease') as V1Lease;
    // A clock that stands still: the Lease cannot expire by itself here.
    await onePass(passOptions(api.kube, { identity: 'old' }));
    expect(lease().spec?.holderIdentity).toBe('');
    await onePass(passOptions(api.kube, { identity: 'new' }));
    expect(lease().spec).toMatchObject({ holderIdentity: '', leaseTransitions: 1 });
    const writes = api.requests.filter((r) => r.resource === 'leases' && r.verb !== 'get');
    // Each replicator takes it (the first by creating it), then frees it.
    expect(writes.map((r) => r.verb)).toEqual(['create', 'patch', 'patch', 'patch']);
  });

  it('stops once another replicator holds the Lease', async () => {
    const api = recordingKube();
    claims(api, 40);
    const o = options(api);
    // Another replicator takes over after the tenth claim's first write.
    let writes = 0;
    const patch = api.kube.mergePatch.bind(api.kube);
    api.kube.mergePatch = (obj, p) => {
      if (obj.kind === 'PersistentVolumeClaim' && ++writes === 20) {
        const lease = [...api.objects.values()].find((x) => x.kind === 'Lease')!;
        (lease as { spec: object }).spec = {
          holderIdentity: 'other',
          leaseDurationSeconds: 15,
          renewTime: new Date(Date.parse('2026-01-02T00:00:00Z')).toISOString(),
        };
      }
      return patch(obj, p);
    };
    await onePass(o);
    const done = scheduled(api);
    expect(done).toBeGreaterThanOrEqual(10);
    expect(done).toBeLessThan(40);
  });
});
