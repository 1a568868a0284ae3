// The reverse planner: which claim becomes the destination, what of the old
// replication is retired, and what is refused. Pure, so no cluster.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { drKeys, renderSpec, specKeys, statusKeys } from '../../model/src/index.ts';
import { planReverse, type ReverseRequest } from '../../plugin/src/plan/reverse.ts';

const now = '2026-12-06T19:00:00Z';
const req = (o: Partial<ReverseRequest> = {}): ReverseRequest => ({
  name: 'data',
  namespace: 'apps',
  context: 'dr',
  now,
  ...o,
});

const failedOver: V1PersistentVolumeClaim = {
  metadata: {
    name: 'data',
    annotations: {
      [drKeys.failedOverAt]: '2026-12-06T18:00:00Z',
      [drKeys.failedOverFrom]: 'prod/apps/data',
      [drKeys.failedOverData]: 'scribe-data-2',
    },
  },
};

function oldSource(
  to = { context: 'dr', namespace: 'apps', name: 'data' },
): V1PersistentVolumeClaim {
  return {
    metadata: {
      name: 'data',
      annotations: {
        ...renderSpec({
          role: 'source',
          method: 'snapshot',
          destination: to,
          secret: 'scribe-source-data',
          destinationVolumeMode: 'Filesystem',
          trigger: { kind: 'schedule', cron: '0 * * * *' },
          paused: false,
          liveRequiresRwo: false,
          checksumEvery: 10,
        }),
        [statusKeys.lastSyncResult]: 'Failed',
        'example.com/owner': 'db-team',
      },
    },
  };
}

describe('reverse plan', () => {
  it("retires the primary's old replication and reuses its claim and schedule", () => {
    const p = planReverse(req(), { claim: failedOver, target: oldSource(), targetUsers: [] });
    if (p.kind !== 'steps') throw new Error(p.kind);
    expect(p.target).toEqual({ context: 'prod', namespace: 'apps', name: 'data' });
    expect(p.trigger).toEqual({ kind: 'schedule', cron: '0 * * * *' });
    expect(p.overwrites).toBe(true);
    expect(p.retire?.secret).toBe('scribe-source-data');
    expect(p.retire?.annotations).toMatchObject({
      [specKeys.replication]: null,
      [specKeys.destination]: null,
      [statusKeys.lastSyncResult]: null,
      [drKeys.reversedAt]: now,
      [drKeys.reversedFrom]: 'dr/apps/data',
    });
    expect(p.retire?.annotations).not.toHaveProperty('example.com/owner');
    expect(p.warnings.join()).toMatch(/what was written there after its last sync is lost/);
  });

  it('refuses while the application still runs at the primary', () => {
    const pod: V1Pod = { metadata: { name: 'db-0' } };
    expect(() =>
      planReverse(req(), { claim: failedOver, target: oldSource(), targetUsers: [pod] }),
    ).toThrow(
      /persistentvolumeclaim "data" \(context prod, namespace apps\) is in use by pod\(s\) db-0: stop the application there first/,
    );
  });

  it('a missing old claim is created: everything crosses, and it says so', () => {
    const p = planReverse(req(), { claim: failedOver, target: undefined, targetUsers: [] });
    if (p.kind !== 'steps') throw new Error(p.kind);
    expect(p).toMatchObject({ overwrites: false });
    expect(p.warnings.join()).toMatch(/does not exist: it is created, and all the data crosses/);
  });

  it('is done when it already replicates back', () => {
    const back: V1PersistentVolumeClaim = {
      metadata: {
        name: 'data',
        annotations: {
          ...failedOver.metadata!.annotations,
          ...renderSpec({
            role: 'source',
            method: 'clone',
            destination: { context: 'prod', namespace: 'apps', name: 'data' },
            secret: 'scribe-source-data',
            destinationVolumeMode: 'Filesystem',
            trigger: { kind: 'manual' },
            paused: false,
            liveRequiresRwo: false,
            checksumEvery: 10,
          }),
        },
      },
    };
    expect(planReverse(req(), { claim: back, target: undefined, targetUsers: [] })).toEqual({
      kind: 'done',
      message: 'persistentvolumeclaim/data unchanged: already replicating to prod/apps/data',
    });
  });

  it('refuses what it cannot reverse, saying what to run', () => {
    expect(() =>
      planReverse(req(), { claim: undefined, target: undefined, targetUsers: [] }),
    ).toThrow(/persistentvolumeclaims "data" not found \(context dr, namespace apps\)/);
    const plain: V1PersistentVolumeClaim = { metadata: { name: 'data', annotations: {} } };
    expect(() => planReverse(req(), { claim: plain, target: undefined, targetUsers: [] })).toThrow(
      /was not failed over \(no dr\.scribe\.backube\.io\/failed-over-from annotation\): name the new destination with --to/,
    );
    const stillReceiving: V1PersistentVolumeClaim = {
      metadata: {
        name: 'data',
        annotations: renderSpec({
          role: 'destination',
          source: { context: 'prod', namespace: 'apps', name: 'data' },
          secret: 's',
          snapshotsToKeep: 3,
          serviceType: 'LoadBalancer',
        }),
      },
    };
    // Still receiving: a failback (final sync, then turn around), only to its source.
    expect(
      planReverse(req(), { claim: stillReceiving, target: undefined, targetUsers: [] }),
    ).toEqual({ kind: 'failback', source: { context: 'prod', namespace: 'apps', name: 'data' } });
    expect(() =>
      planReverse(req({ to: { context: 'x', namespace: 'apps', name: 'data' } }), {
        claim: stillReceiving,
        target: undefined,
        targetUsers: [],
      }),
    ).toThrow(/receives from prod\/apps\/data: it can only fail back to it \(leave out --to\)/);
    // The old claim replicating somewhere else is not this failover's to retire.
    expect(() =>
      planReverse(req(), {
        claim: { metadata: { name: 'other', annotations: {} } },
        target: oldSource({ context: 'dr2', namespace: 'apps', name: 'data' }),
        targetUsers: [],
      }),
    ).toThrow(/was not failed over/);
    expect(() =>
      planReverse(req({ to: { context: 'prod', namespace: 'apps', name: 'data' } }), {
        claim: { metadata: { name: 'data', annotations: {} } },
        target: oldSource({ context: 'dr2', namespace: 'apps', name: 'data' }),
        targetUsers: [],
      }),
    ).toThrow(/replicates to dr2\/apps\/data, not to this claim: disable it first/);
  });
});
