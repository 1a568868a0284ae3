// The finalizer's decisions: when a claim is adopted, cleaned up or left
// alone, what clean-up deletes (never the history), and the patch it sends.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseSpec, renderSpec, type ReplicationSpec } from '../../model/src/index.ts';
import {
  cleanupTargets,
  decideLifecycle,
  finalizer,
  finalizerPatch,
} from '../../replicator/src/finalizer.ts';
import {
  cloneClaim,
  endpointService,
  receiverJob,
  snapshotOf,
} from '../../replicator/src/objects.ts';

const source = (method: string): ReplicationSpec => ({
  role: 'source',
  method,
  destination: { context: 'dst', namespace: 'app', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'k',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'manual' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 0,
});
const destination: ReplicationSpec = {
  role: 'destination',
  source: { context: 'src', namespace: 'app', name: 'data' },
  secret: 'k',
  snapshotsToKeep: 2,
  serviceType: 'ClusterIP',
};

function claim(
  o: {
    spec?: ReplicationSpec;
    finalizers?: string[];
    deleted?: boolean;
    annotations?: object;
  } = {},
): V1PersistentVolumeClaim {
  return {
    metadata: {
      name: 'data',
      namespace: 'app',
      resourceVersion: '42',
      annotations: { ...(o.spec ? renderSpec(o.spec) : {}), ...o.annotations },
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      ...(o.deleted ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}),
    },
  };
}
const decide = (c: V1PersistentVolumeClaim) => {
  const p = parseSpec(c.metadata?.annotations);
  return decideLifecycle(c, p.enabled, p.spec);
};

describe('the finalizer', () => {
  it('is added to claims the replicator makes objects for, and only those', () => {
    expect(decide(claim({ spec: source('clone') }))).toEqual({ kind: 'reconcile', adopt: true });
    expect(decide(claim({ spec: source('snapshot') }))).toEqual({ kind: 'reconcile', adopt: true });
    expect(decide(claim({ spec: destination }))).toEqual({ kind: 'reconcile', adopt: true });
    // The sidecar carries live copies; a vendor's method is its operator's.
    expect(decide(claim({ spec: source('live') }))).toEqual({ kind: 'reconcile', adopt: false });
    expect(decide(claim({ spec: source('mirror.example.com') }))).toEqual({
      kind: 'reconcile',
      adopt: false,
    });
    expect(decide(claim({ spec: destination, finalizers: [finalizer] }))).toEqual({
      kind: 'reconcile',
      adopt: false,
    });
    expect(decide(claim())).toEqual({ kind: 'skip' });
  });

  it('cleans up a disabled or deleted claim that holds it; leaves an invalid spec alone', () => {
    const held = [finalizer];
    expect(decide(claim({ finalizers: held }))).toEqual({ kind: 'clean-up' });
    expect(decide(claim({ spec: destination, finalizers: held, deleted: true }))).toEqual({
      kind: 'clean-up',
    });
    // Deleted without it (made before the finalizer existed): owner references do the rest.
    expect(decide(claim({ spec: destination, deleted: true }))).toEqual({ kind: 'skip' });
    // A spec mid-edit is not a disable: its endpoint and syncs stay.
    const invalid = claim({
      spec: destination,
      finalizers: held,
      annotations: { 'scribe.backube.io/snapshots-to-keep': 'many' },
    });
    expect(parseSpec(invalid.metadata?.annotations).enabled).toBe(true);
    expect(decide(invalid)).toEqual({ kind: 'skip' });
  });

  it("deletes copies, mover Jobs and endpoints, never the destination's history", () => {
    const c = claim();
    const targets = cleanupTargets({
      jobs: [receiverJob(c, 's1', { secret: 'k' })],
      claims: [cloneClaim(c, 's1')],
      snapshots: [snapshotOf(c, 'copy', 'copy', 's1'), snapshotOf(c, 'hist', 'history', 's0')],
      services: [endpointService(c, 'ClusterIP')],
      pods: [],
    });
    expect(targets.map((t) => `${t.kind}/${t.metadata?.name}`)).toEqual([
      'Job/scribe-receive-data-s1',
      'PersistentVolumeClaim/scribe-clone-data-s1',
      'VolumeSnapshot/copy',
      'Service/scribe-data',
    ]);
  });

  it("adds and removes itself without touching others' finalizers, at the version it read", () => {
    const c = claim({ finalizers: ['kubernetes.io/pvc-protection'] });
    expect(finalizerPatch(c, true)).toEqual({
      metadata: {
        finalizers: ['kubernetes.io/pvc-protection', finalizer],
        resourceVersion: '42',
      },
    });
    const held = claim({ finalizers: [finalizer, 'kubernetes.io/pvc-protection'] });
    expect(finalizerPatch(held, false).metadata.finalizers).toEqual([
      'kubernetes.io/pvc-protection',
    ]);
  });
});
