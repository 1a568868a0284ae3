import { describe, expect, it } from 'vitest';
import type { SourceSpec } from '../../model/src/index.ts';
import { decideSource, retryDelaySeconds, snapshotsToPrune } from '../../replicator/src/decide.ts';

const spec: SourceSpec = {
  role: 'source',
  method: 'clone',
  destination: { context: 'dr', namespace: 'prod', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'keys',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '*/10 * * * *' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 3,
};
const at = (t: string) => new Date(`2026-11-26T${t}Z`);

describe('the source decision', () => {
  it('leaves live copy to the sidecar and unknown methods to their vendor', () => {
    const now = at('07:00:00');
    expect(
      decideSource({ spec: { ...spec, method: 'live' }, status: {}, now, syncRunning: false }),
    ).toMatchObject({ kind: 'ignore' });
    expect(
      decideSource({ spec: { ...spec, method: 'acme.io' }, status: {}, now, syncRunning: false }),
    ).toEqual({ kind: 'ignore', reason: 'method "acme.io" belongs to a vendor' });
  });

  it('first records the next scheduled time, then starts when it has come', () => {
    const first = decideSource({ spec, status: {}, now: at('07:03:00'), syncRunning: false });
    expect(first).toEqual({ kind: 'wait', reason: 'scheduled', nextSync: at('07:10:00') });
    const early = decideSource({
      spec,
      status: { nextSync: '2026-11-26T07:10:00Z' },
      now: at('07:09:59'),
      syncRunning: false,
    });
    expect(early.kind).toBe('wait');
    const due = decideSource({
      spec,
      status: { nextSync: '2026-11-26T07:10:00Z' },
      now: at('07:10:01'),
      syncRunning: false,
    });
    expect(due).toEqual({
      kind: 'start',
      trigger: 'schedule',
      checksum: false,
      missed: 0,
      nextSync: at('07:20:00'),
    });
  });

  it('counts the intervals missed while down or while a sync ran, without queueing them', () => {
    const late = decideSource({
      spec,
      status: { nextSync: '2026-11-26T07:10:00Z' },
      now: at('07:35:00'),
      syncRunning: false,
    });
    expect(late).toMatchObject({ kind: 'start', missed: 2, nextSync: at('07:40:00') });
    const busy = decideSource({
      spec,
      status: { nextSync: '2026-11-26T07:10:00Z' },
      now: at('07:21:00'),
      syncRunning: true,
    });
    expect(busy).toEqual({
      kind: 'wait',
      reason: 'a sync is running',
      nextSync: at('07:30:00'),
      missed: 2,
    });
  });

  it('acts on a sync request once', () => {
    const req = '2026-11-26T07:04:00Z';
    const s = { ...spec, trigger: { kind: 'manual' as const }, syncRequested: req };
    expect(
      decideSource({ spec: s, status: {}, now: at('07:05:00'), syncRunning: false }),
    ).toMatchObject({ kind: 'start', trigger: 'request' });
    expect(
      decideSource({
        spec: s,
        status: { syncHandled: req },
        now: at('07:05:00'),
        syncRunning: false,
      }),
    ).toEqual({ kind: 'wait', reason: 'manual: waiting for a sync request' });
  });

  it('waits while paused or without an endpoint, and never starts a second sync', () => {
    const status = { nextSync: '2026-11-26T07:10:00Z' };
    const now = at('07:11:00');
    expect(
      decideSource({ spec: { ...spec, paused: true }, status, now, syncRunning: false }),
    ).toMatchObject({ kind: 'wait', reason: 'replication is paused' });
    expect(
      decideSource({ spec: { ...spec, endpoint: undefined }, status, now, syncRunning: false }),
    ).toMatchObject({ kind: 'wait', reason: 'the destination endpoint is not known yet' });
    expect(decideSource({ spec, status: {}, now, syncRunning: true }).kind).toBe('wait');
  });

  it('makes every Nth sync a checksum pass', () => {
    const status = { nextSync: '2026-11-26T07:10:00Z', syncCount: 2 };
    expect(decideSource({ spec, status, now: at('07:10:00'), syncRunning: false })).toMatchObject({
      checksum: true,
    });
    expect(
      decideSource({
        spec: { ...spec, checksumEvery: 0 },
        status,
        now: at('07:10:00'),
        syncRunning: false,
      }),
    ).toMatchObject({ checksum: false });
  });

  it('retries failures with capped exponential backoff', () => {
    expect([1, 2, 3, 6, 20].map((n) => retryDelaySeconds(n))).toEqual([30, 60, 120, 900, 900]);
    const status = {
      lastSyncEnd: '2026-11-26T07:00:00Z',
      consecutiveFailures: 2,
      nextSync: '2026-11-26T08:00:00Z',
    };
    expect(decideSource({ spec, status, now: at('07:00:30'), syncRunning: false })).toEqual({
      kind: 'wait',
      reason: 'retrying after 2 failed syncs',
      nextSync: at('07:01:00'),
    });
    expect(decideSource({ spec, status, now: at('07:01:00'), syncRunning: false })).toMatchObject({
      kind: 'start',
      trigger: 'retry',
    });
  });
});

describe('destination snapshot retention', () => {
  it('keeps the newest N ready snapshots and never the last one', () => {
    const snaps = [
      { name: 'a', readyToUse: true, creationTime: '2026-11-26T01:00:00Z' },
      { name: 'b', readyToUse: true, creationTime: '2026-11-26T03:00:00Z' },
      { name: 'c', readyToUse: false, creationTime: '2026-11-26T04:00:00Z' },
      { name: 'd', readyToUse: true, creationTime: '2026-11-26T02:00:00Z' },
    ];
    expect(snapshotsToPrune(snaps, 2)).toEqual(['a']);
    expect(snapshotsToPrune(snaps, 0)).toEqual(['d', 'a']);
    expect(snapshotsToPrune(snaps, 5)).toEqual([]);
  });
});
