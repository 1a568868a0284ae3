// One source, several targets: each target gets its own copy, sender Job and
// status keys, on its own schedule; objects of one target are never taken
// for another's sync; objects of a removed target are deleted.
import type { V1Job, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  parseStatus,
  renderSpec,
  targetLabel,
  withTarget,
  withoutTarget,
  type SourceSpec,
} from '../../model/src/index.ts';
import { replicatorMetrics } from '../../replicator/src/metrics.ts';
import { syncObjectName } from '../../replicator/src/naming.ts';
import { cloneClaim, restoreClaim, senderJob, snapshotOf } from '../../replicator/src/objects.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { currentSync, orphanedObjects } from '../../replicator/src/source.ts';
import { passOptions, recordingKube } from '../manifests/support/recording-kube.ts';

const pvc = (name: string): V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'app', uid: `uid-${name}` },
  spec: { resources: { requests: { storage: '1Gi' } } },
  status: { phase: 'Bound' },
});

const base: SourceSpec = {
  role: 'source',
  method: 'snapshot',
  destination: { context: 'dr', namespace: 'app', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'scribe-source-data',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '*/15 * * * *' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 0,
};
const fanned = withTarget(base, {
  name: 'lake',
  destination: { context: 'lake', namespace: 'bi', name: 'data' },
  endpoint: '10.9.0.1:2222',
  secret: 'scribe-source-data-lake',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'manual' },
  paused: false,
  syncRequested: '2026-01-01T00:00:05Z',
  checksumEvery: 0,
});

describe('a source with several targets', () => {
  it('names and labels each target its own objects, within 63 characters', () => {
    const a = pvc('data');
    expect(cloneClaim(a, 's1').metadata?.name).toBe('scribe-clone-data-s1');
    expect(cloneClaim(a, 's1', 'lake').metadata?.name).toBe('scribe-t-clone-lake-data-80a46f5f-s1');
    // Not the name of PVC "data-lake"'s own sync in the same second.
    expect(cloneClaim(pvc('data-lake'), 's1').metadata?.name).toBe('scribe-clone-data-lake-s1');
    expect(restoreClaim(a, 'snap', 's1', 'lake').metadata?.name).toBe(
      'scribe-t-restore-lake-data-80a46f5f-s1',
    );
    expect(cloneClaim(a, 's1', 'lake').metadata?.labels?.[targetLabel]).toBe('lake');
    const job = senderJob(a, 'c', 'h:2222', 's1', { secret: 'k', checksum: false, target: 'lake' });
    expect(job.metadata?.name).toBe('scribe-t-send-lake-data-80a46f5f-s1');
    expect(job.spec?.template.metadata?.labels?.[targetLabel]).toBe('lake');
    // Dashes alone would make these the same name.
    expect(syncObjectName('send', 'x-y', 'lake', 's1')).not.toBe(
      syncObjectName('send', 'y', 'lake-x', 's1'),
    );
    const long = senderJob(pvc('d'.repeat(60)), 'c', 'h:2222', '20260101t000000z', {
      secret: 'k',
      checksum: false,
      target: 't'.repeat(42),
    });
    expect(long.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(long.metadata?.labels?.[targetLabel]).toBe('t'.repeat(42));
  });

  it("finds each target's sync among the other target's objects; unlabelled ones are the default's", () => {
    const a = pvc('data');
    const old = cloneClaim(a, '20260101t000000z');
    delete old.metadata!.labels![targetLabel]; // made before fan-out
    const owned = {
      jobs: [] as V1Job[],
      claims: [old, cloneClaim(a, '20260102t000000z', 'lake')],
      snapshots: [snapshotOf(a, 'hist', 'history', '20260103t000000z')],
      services: [],
      pods: [],
    };
    expect(currentSync(owned)?.claim?.metadata?.name).toBe('scribe-clone-data-20260101t000000z');
    expect(currentSync(owned, 'lake')?.claim?.metadata?.name).toBe(
      'scribe-t-clone-lake-data-80a46f5f-20260102t000000z',
    );
    expect(currentSync(owned, 'audit')).toBeUndefined();
    expect(orphanedObjects(owned, new Set(['default'])).map((o) => o.metadata?.name)).toEqual([
      'scribe-t-clone-lake-data-80a46f5f-20260102t000000z',
    ]);
  });

  it('counts metrics per target', async () => {
    const m = replicatorMetrics();
    const a = pvc('data');
    m.syncFinished(a, { ok: true, durationSeconds: 2, bytes: 100 }, 'default');
    m.syncFinished(a, { ok: false, durationSeconds: 1, bytes: 7 }, 'lake');
    m.missed(a, 2, 'lake');
    const text = await m.registry.metrics();
    expect(text).toContain(
      'scribe_sync_bytes_total{namespace="app",pvc="data",target="default"} 100',
    );
    expect(text).toContain('scribe_sync_bytes_total{namespace="app",pvc="data",target="lake"} 7');
    expect(text).toContain('scribe_out_of_sync{namespace="app",pvc="data",target="lake"} 1');
    expect(text).toContain(
      'scribe_missed_intervals_total{namespace="app",pvc="data",target="lake"} 2',
    );
  });

  it('starts a sync per target on its own trigger, records each status apart, and cleans up a removed target', async () => {
    const api = recordingKube();
    const source = pvc('data');
    source.metadata!.annotations = renderSpec(fanned);
    api.put(source as never);
    let now = new Date('2026-01-01T00:00:10Z');
    const o = passOptions(api.kube, { copyTimeoutSeconds: 3600, now: () => now });
    const snapshots = () =>
      [...api.objects.values()]
        .filter((x) => x.kind === 'VolumeSnapshot')
        .map((x) => x.metadata!.name)
        .sort();
    const annotations = () =>
      [...api.objects.values()].find((x) => x.metadata?.name === 'data')!.metadata!.annotations!;

    // Pass 1: the request of "lake" starts its sync; the default waits for its schedule.
    await reconcileAll(o);
    expect(snapshots()).toEqual(['scribe-t-snap-lake-data-80a46f5f-20260101t000010z']);
    expect(parseStatus(annotations(), 'lake')).toMatchObject({
      lastSyncResult: 'Running',
      syncHandled: '2026-01-01T00:00:05Z',
    });
    expect(parseStatus(annotations())).toEqual({ nextSync: '2026-01-01T00:15:00.000Z' });

    // Pass 2, after the schedule fired: the default starts its own copy beside lake's.
    now = new Date('2026-01-01T00:15:02Z');
    await reconcileAll(o);
    expect(snapshots()).toEqual([
      'scribe-snap-data-20260101t001502z',
      'scribe-t-snap-lake-data-80a46f5f-20260101t000010z',
    ]);
    expect(parseStatus(annotations())).toMatchObject({ lastSyncResult: 'Running' });
    const events = [...api.objects.values()]
      .filter((x) => x.kind === 'Event')
      .map((x) => (x as { message?: string }).message);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^target "lake": sync 20260101t000010z started \(request, snapshot\)/,
        ),
        expect.stringMatching(
          /^target "default": sync 20260101t001502z started \(schedule, snapshot\)/,
        ),
      ]),
    );

    // "lake" removed from the spec: its copy goes, the default's stays.
    const current = [...api.objects.values()].find((x) => x.metadata?.name === 'data')!;
    current.metadata!.annotations = {
      ...renderSpec(withoutTarget(fanned, 'lake')),
    };
    await reconcileAll(o);
    expect(snapshots()).toEqual(['scribe-snap-data-20260101t001502z']);
  });
});
