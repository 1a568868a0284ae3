// The failover planner: which data, which claim, what stops replication, and
// how a repeated or cut-off failover goes on. Pure, so no cluster.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { drKeys, renderSpec, specKeys, statusKeys } from '../../model/src/index.ts';
import type { VolumeSnapshot } from '../../plugin/src/kube/cluster.ts';
import {
  parseTemplate,
  planFailover,
  type FailoverRequest,
  type FailoverSteps,
} from '../../plugin/src/plan/failover.ts';

const now = '2026-12-06T18:00:00Z';
const req = (o: Partial<FailoverRequest> = {}): FailoverRequest => ({
  name: 'data',
  namespace: 'apps',
  context: 'dr',
  from: 'snapshot',
  now,
  ...o,
});

function destination(extra: Record<string, string> = {}): V1PersistentVolumeClaim {
  return {
    metadata: {
      name: 'data',
      namespace: 'apps',
      uid: 'u1',
      labels: { app: 'db', 'scribe.backube.io/pvc': 'data' },
      annotations: {
        ...renderSpec({
          role: 'destination',
          source: { context: 'prod', namespace: 'apps', name: 'data' },
          secret: 'scribe-destination-data',
          snapshotsToKeep: 3,
          serviceType: 'LoadBalancer',
        }),
        [statusKeys.latestSnapshot]: 'scribe-data-2',
        'example.com/keep': 'yes',
        ...extra,
      },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      volumeMode: 'Filesystem',
      resources: { requests: { storage: '10Gi' } },
      volumeName: 'pv-1',
    },
  };
}

function snap(name: string, time: string, ready = true, restoreSize?: string): VolumeSnapshot {
  return {
    metadata: { name, labels: { 'scribe.backube.io/pvc': 'data' } },
    status: { readyToUse: ready, creationTime: time, ...(restoreSize ? { restoreSize } : {}) },
  };
}

const snaps = [
  snap('scribe-data-1', '2026-12-06T10:00:00Z'),
  snap('scribe-data-2', '2026-12-06T11:00:00Z'),
  snap('scribe-data-3', '2026-12-06T12:00:00Z', false),
];

const steps = (p: ReturnType<typeof planFailover>): FailoverSteps => {
  if (p.kind !== 'steps') throw new Error(`expected steps, got ${p.message}`);
  return p;
};

describe('failover plan', () => {
  it("names the source's target when the destination is one of several", () => {
    const lake = steps(
      planFailover(req(), {
        claim: destination({ [specKeys.sourceTarget]: 'lake' }),
        snapshots: snaps,
      }),
    );
    expect(lake.sourceTarget).toBe('lake');
    // A destination's source-target goes with the rest of its spec.
    expect(lake.stopReplication?.[specKeys.sourceTarget]).toBeNull();
    expect(
      steps(planFailover(req(), { claim: destination(), snapshots: snaps })).sourceTarget,
    ).toBeUndefined();
  });

  it('replaces the destination claim with one restored from the newest ready snapshot', () => {
    const p = steps(planFailover(req(), { claim: destination(), snapshots: snaps }));
    expect(p.data).toBe('scribe-data-2');
    expect(p.source).toBe('prod/apps/data');
    expect(p.replace).toBe(true);
    expect(p.secret).toBe('scribe-destination-data');
    // Every Scribe spec and status key goes; the failover is on record; others stay.
    expect(p.stopReplication).toMatchObject({
      [specKeys.replication]: null,
      [specKeys.source]: null,
      [statusKeys.latestSnapshot]: null,
      [drKeys.failedOverAt]: now,
      [drKeys.failedOverFrom]: 'prod/apps/data',
      [drKeys.failedOverData]: 'scribe-data-2',
    });
    expect(p.stopReplication).not.toHaveProperty('example.com/keep');
    expect(p.create).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        namespace: 'apps',
        labels: { app: 'db' },
        annotations: {
          [drKeys.failedOverAt]: now,
          [drKeys.failedOverFrom]: 'prod/apps/data',
          [drKeys.failedOverData]: 'scribe-data-2',
        },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'fast',
        volumeMode: 'Filesystem',
        resources: { requests: { storage: '10Gi' } },
        dataSource: {
          apiGroup: 'snapshot.storage.k8s.io',
          kind: 'VolumeSnapshot',
          name: 'scribe-data-2',
        },
      },
    });
    // What the claim looked like rides on the snapshot until the new claim exists.
    expect(p.template?.snapshot).toBe('scribe-data-2');
    expect(parseTemplate(p.template?.value)).toMatchObject({
      source: 'prod/apps/data',
      at: now,
      spec: { storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } },
    });
  });

  it('restores a named snapshot, and never one that is not ready', () => {
    const p = steps(
      planFailover(req({ snapshot: 'scribe-data-1' }), { claim: destination(), snapshots: snaps }),
    );
    expect(p.create?.spec?.dataSource?.name).toBe('scribe-data-1');
    expect(() =>
      planFailover(req({ snapshot: 'scribe-data-3' }), { claim: destination(), snapshots: snaps }),
    ).toThrow(/volumesnapshot "scribe-data-3" is not ready to use yet/);
    expect(() =>
      planFailover(req({ snapshot: 'other' }), { claim: destination(), snapshots: snaps }),
    ).toThrow(
      /volumesnapshot "other" is not a snapshot of persistentvolumeclaim "data" \(context dr, namespace apps\); its snapshots: scribe-data-2, scribe-data-1/,
    );
  });

  it('never restores less than the snapshot holds', () => {
    const big = [snap('scribe-data-9', '2026-12-06T13:00:00Z', true, '12Gi')];
    const p = steps(planFailover(req(), { claim: destination(), snapshots: big }));
    expect(p.create?.spec?.resources?.requests).toEqual({ storage: '12Gi' });
  });

  it('with no complete sync, says so and offers --from volume', () => {
    expect(() => planFailover(req(), { claim: destination(), snapshots: [snaps[2]!] })).toThrow(
      /no complete sync has reached persistentvolumeclaim "data" \(context dr, namespace apps\).*--from volume/,
    );
  });

  it('--as restores into a new claim and keeps the destination, recording where the data went', () => {
    const p = steps(
      planFailover(req({ as: 'data-dr' }), { claim: destination(), snapshots: snaps }),
    );
    expect(p.replace).toBe(false);
    expect(p.template).toBeUndefined();
    expect(p.create?.metadata?.name).toBe('data-dr');
    expect(p.stopReplication).toMatchObject({ [drKeys.failedOverTo]: 'data-dr' });
    expect(() =>
      planFailover(req({ as: 'data-dr' }), {
        claim: destination(),
        asClaim: { metadata: { name: 'data-dr' } },
        snapshots: snaps,
      }),
    ).toThrow(/persistentvolumeclaims "data-dr" already exists/);
    expect(() =>
      planFailover(req({ as: 'x', from: 'volume' }), { claim: destination(), snapshots: snaps }),
    ).toThrow(/--as restores a snapshot into a new claim/);
  });

  it('--from volume keeps the claim and its data, with a warning about a cut-off transfer', () => {
    const p = steps(planFailover(req({ from: 'volume' }), { claim: destination(), snapshots: [] }));
    expect(p).toMatchObject({ data: 'volume', replace: false });
    expect(p.create).toBeUndefined();
    expect(p.stopReplication).toMatchObject({ [drKeys.failedOverData]: 'volume' });
    expect(p.warnings.join()).toMatch(/incomplete if that transfer was cut off/);
  });

  it('a finished failover is left alone', () => {
    const done: V1PersistentVolumeClaim = {
      metadata: {
        name: 'data',
        annotations: {
          [drKeys.failedOverAt]: now,
          [drKeys.failedOverFrom]: 'prod/apps/data',
          [drKeys.failedOverData]: 'scribe-data-2',
        },
      },
    };
    expect(planFailover(req(), { claim: done, snapshots: snaps })).toEqual({
      kind: 'done',
      message:
        'persistentvolumeclaim/data unchanged: failed over at 2026-12-06T18:00:00Z from prod/apps/data (data: scribe-data-2)',
    });
  });

  it('a failover cut off after deleting the claim resumes from the template on the snapshot', () => {
    const first = steps(planFailover(req(), { claim: destination(), snapshots: snaps }));
    const marked = snaps.map((s) =>
      s.metadata.name === first.template!.snapshot
        ? {
            ...s,
            metadata: {
              ...s.metadata,
              annotations: { [drKeys.claimTemplate]: first.template!.value },
            },
          }
        : s,
    );
    const again = steps(
      planFailover(req({ now: 'later' }), { claim: undefined, snapshots: marked }),
    );
    expect(again.stopReplication).toBeUndefined();
    expect(again.create).toEqual(first.create);
    expect(again.warnings.join()).toMatch(/resuming the failover of 2026-12-06T18:00:00Z/);
  });

  it('refuses what is not a destination, naming what to run instead', () => {
    expect(() => planFailover(req(), { claim: undefined, snapshots: snaps })).toThrow(
      /persistentvolumeclaims "data" not found \(context dr, namespace apps\)/,
    );
    const plain: V1PersistentVolumeClaim = { metadata: { name: 'data', annotations: {} } };
    expect(() => planFailover(req(), { claim: plain, snapshots: [] })).toThrow(
      /is not a replication destination/,
    );
    const source: V1PersistentVolumeClaim = {
      metadata: {
        name: 'data',
        annotations: renderSpec({
          role: 'source',
          method: 'clone',
          destination: { context: 'dr', namespace: 'apps', name: 'data-replica' },
          secret: 's',
          destinationVolumeMode: 'Filesystem',
          trigger: { kind: 'manual' },
          paused: false,
          liveRequiresRwo: false,
          checksumEvery: 0,
        }),
      },
    };
    expect(() => planFailover(req({ context: 'prod' }), { claim: source, snapshots: [] })).toThrow(
      'is the source of a replication, not its destination: fail over at the DR site with kubectl scribe failover pvc data-replica --context dr -n apps',
    );
  });
});
