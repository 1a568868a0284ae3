import { describe, expect, it } from 'vitest';
import {
  fallbacks,
  isForeignMethod,
  isSingleWriter,
  knownMethod,
  nextRun,
  parseStatus,
  parseTrigger,
  pickMethod,
  renderStatus,
  statusKeys,
  volumeModeMismatch,
  volumeModeOf,
} from '../../model/src/index.ts';

describe('the method catalog', () => {
  it('picks the most efficient method the storage supports, and says why', () => {
    expect(pickMethod({ clone: true, snapshot: true })).toMatchObject({ method: 'clone' });
    expect(pickMethod({ clone: false, snapshot: true }).reason).toMatch(/cannot clone/);
    expect(pickMethod({ clone: false, snapshot: false })).toMatchObject({
      method: 'live',
      reason: expect.stringMatching(/not crash-consistent/),
    });
  });

  it('names the supported fallbacks, best first', () => {
    expect(fallbacks('clone', { clone: false, snapshot: true })).toEqual(['snapshot', 'live']);
    expect(fallbacks('snapshot', { clone: false, snapshot: false })).toEqual(['live']);
  });

  it('leaves methods nobody registered to a vendor', () => {
    expect(knownMethod('acme.example.com')).toBeUndefined();
    expect(knownMethod('live')?.crashConsistent).toBe(false);
    const base = {
      role: 'source' as const,
      destination: { context: 'dr', namespace: 'a', name: 'b' },
      secret: 's',
      destinationVolumeMode: 'Block' as const,
      trigger: { kind: 'manual' as const },
      paused: false,
      liveRequiresRwo: false,
      checksumEvery: 10,
    };
    expect(isForeignMethod({ ...base, method: 'acme.example.com' })).toBe(true);
    expect(isForeignMethod({ ...base, method: 'snapshot' })).toBe(false);
  });
});

describe('volume modes and access modes', () => {
  it('allows only equal volume modes, naming both when they differ', () => {
    expect(volumeModeMismatch('Block', 'Block')).toBeUndefined();
    expect(volumeModeMismatch('Filesystem', 'Block')).toMatch(
      /source volume mode is Filesystem but the destination's is Block/,
    );
  });

  it('defaults an absent volume mode to Filesystem as the API server does', () => {
    expect(volumeModeOf({ spec: {} })).toBe('Filesystem');
    expect(volumeModeOf({ spec: { volumeMode: 'Block' } })).toBe('Block');
  });

  it('knows single-writer access modes', () => {
    expect(isSingleWriter({ spec: { accessModes: ['ReadWriteOnce'] } })).toBe(true);
    expect(isSingleWriter({ spec: { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] } })).toBe(
      false,
    );
    expect(isSingleWriter({ spec: {} })).toBe(false);
  });
});

describe('schedules and status', () => {
  it('computes the next run in UTC', () => {
    const t = parseTrigger('*/15 * * * *');
    expect(t.ok && nextRun(t.value, new Date('2026-11-26T07:07:00Z'))?.toISOString()).toBe(
      '2026-11-26T07:15:00.000Z',
    );
    const m = parseTrigger('manual');
    expect(m.ok && nextRun(m.value, new Date())).toBeUndefined();
  });

  it('renders and parses status, dropping malformed values', () => {
    const a = renderStatus({
      lastSyncResult: 'Succeeded',
      lastSyncDuration: 12.5,
      lastSyncBytes: 1024,
      lastSyncError: null,
    });
    expect(a).toEqual({
      [statusKeys.lastSyncResult]: 'Succeeded',
      [statusKeys.lastSyncDuration]: '12.5s',
      [statusKeys.lastSyncBytes]: '1024',
      [statusKeys.lastSyncError]: null,
    });
    const parsed = parseStatus({
      ...(a as Record<string, string>),
      [statusKeys.lastSyncError]: 'boom',
      [statusKeys.lastSyncFiles]: 'many',
    });
    expect(parsed).toEqual({
      lastSyncResult: 'Succeeded',
      lastSyncDuration: 12.5,
      lastSyncBytes: 1024,
      lastSyncError: 'boom',
    });
  });
});
