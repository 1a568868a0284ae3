// A pass lists each kind once and hands each claim its share: grouping by the
// scribe.backube.io/pvc label, the sync in progress, and the request count
// against the recording API whatever the number of claims.
import type { V1Job, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { renderSpec } from '../../model/src/index.ts';
import { replicatorMetrics } from '../../replicator/src/metrics.ts';
import {
  cloneClaim,
  senderJob,
  snapshotOf,
  endpointService,
} from '../../replicator/src/objects.ts';
import { groupOwned, ownedBy } from '../../replicator/src/owned.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { currentSync } from '../../replicator/src/source.ts';
import { recordingKube } from '../manifests/support/recording-kube.ts';

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
    });
    const mine = ownedBy(g, a);
    expect(mine.claims.map((c) => c.metadata?.name)).toEqual(['scribe-clone-a-s1']);
    // Not managed by Scribe: not Scribe's to touch.
    expect(mine.jobs.map((j) => j.metadata?.name)).toEqual(['scribe-send-a-s1']);
    expect(mine.snapshots.map((s) => s.metadata?.name)).toEqual(['snap-a']);
    expect(mine.services).toEqual([]);
    expect(ownedBy(g, otherA).services.map((s) => s.metadata?.name)).toEqual(['scribe-a']);
    expect(ownedBy(g, pvc('none'))).toEqual({ jobs: [], claims: [], snapshots: [], services: [] });
  });

  it('finds the newest sync among copies and sender Jobs, and only its objects', () => {
    const a = pvc('a');
    const owned = {
      jobs: [senderJob(a, 'c', 'h:2222', '20260101t000000z', { secret: 'k', checksum: false })],
      claims: [cloneClaim(a, '20260101t000000z'), cloneClaim(a, '20260102t000000z')],
      snapshots: [snapshotOf(a, 'hist', 'history', '20260103t000000z')],
      services: [],
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
  it('makes four list calls however many claims are replicated', async () => {
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
      const o = {
        kube: api.kube,
        log: pino({ enabled: false }),
        metrics: replicatorMetrics(),
        namespace: 'scribe-system',
        identity: 'r',
        intervalMs: 1,
        leaseSeconds: 15,
        copyTimeoutSeconds: 60,
        now: () => new Date('2026-01-01T00:00:10Z'),
      };
      // Two passes: the first starts syncs and endpoints, the second carries them on.
      for (let pass = 0; pass < 2; pass++) {
        api.requests.length = 0;
        expect(await reconcileAll(o)).toBe(2 * n);
        const lists = api.requests.filter((r) => r.verb === 'list');
        expect(lists.map((r) => r.resource).sort()).toEqual([
          'jobs',
          'persistentvolumeclaims',
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
