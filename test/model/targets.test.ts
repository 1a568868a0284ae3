import { describe, expect, it } from 'vitest';
import {
  defaultTarget,
  disableTargetPatch,
  findTarget,
  maxTargetNameLength,
  parseSpec,
  parseStatus,
  parseTargetName,
  renderSpec,
  renderStatus,
  sourceTargets,
  specAnnotationsPatch,
  specForTarget,
  specKeys,
  statusKeys,
  withTarget,
  withoutTarget,
  type SourceSpec,
  type TargetSpec,
} from '../../model/src/index.ts';

const source: SourceSpec = {
  role: 'source',
  method: 'snapshot',
  destination: { context: 'dr', namespace: 'prod', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'scribe-source-data',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '*/15 * * * *' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 10,
};

const analytics: TargetSpec = {
  name: 'analytics',
  destination: { context: 'lake', namespace: 'bi', name: 'data-ro' },
  endpoint: '10.9.0.1:2222',
  secret: 'scribe-source-data-analytics',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '0 * * * *' },
  paused: true,
  syncRequested: '2026-12-06T10:00:00Z',
  checksumEvery: 0,
};

/** Status annotations as a PVC carries them (a render without nulls). */
const st = (...a: Parameters<typeof renderStatus>) => renderStatus(...a) as Record<string, string>;

function problemsOf(annotations: Record<string, string>): string[] {
  return parseSpec(annotations).problems.map((p) => `${p.annotation}: ${p.message}`);
}

describe('fan-out targets in the replication spec', () => {
  const fanned = withTarget(source, analytics);

  it('writes a second target as keys suffixed with its name and reads it back', () => {
    const a = renderSpec(fanned);
    expect(a['scribe.backube.io/destination.analytics']).toBe('lake/bi/data-ro');
    expect(a['scribe.backube.io/schedule.analytics']).toBe('0 * * * *');
    expect(a['scribe.backube.io/secret.analytics']).toBe('scribe-source-data-analytics');
    expect(a['scribe.backube.io/paused.analytics']).toBe('true');
    // The method is one per source: no suffixed copy.
    expect(Object.keys(a).filter((k) => k.startsWith(specKeys.method))).toEqual([specKeys.method]);
    // The default target keeps the unsuffixed keys.
    expect(a[specKeys.destination]).toBe('dr/prod/data');
    const parsed = parseSpec(a);
    expect(parsed.problems).toEqual([]);
    expect(parsed.spec).toEqual(JSON.parse(JSON.stringify(fanned)));
    expect(sourceTargets(parsed.spec as SourceSpec).map((t) => t.name)).toEqual([
      defaultTarget,
      'analytics',
    ]);
  });

  it('keeps a single-destination spec exactly as before (no extraTargets)', () => {
    const parsed = parseSpec(renderSpec(source));
    expect(parsed.spec).toEqual(source);
    expect((parsed.spec as SourceSpec).extraTargets).toBeUndefined();
  });

  it('gives each target its own view, so the one-destination decisions apply unchanged', () => {
    const view = specForTarget(fanned, findTarget(fanned, 'analytics')!);
    expect(view.destination).toEqual(analytics.destination);
    expect(view.endpoint).toBe(analytics.endpoint);
    expect(view.trigger).toEqual(analytics.trigger);
    expect(view.syncRequested).toBe(analytics.syncRequested);
    expect(view.method).toBe('snapshot');
    expect(view.extraTargets).toBeUndefined();
    // The default's view carries no request of another target.
    const first = specForTarget(fanned, findTarget(fanned, defaultTarget)!);
    expect(first.syncRequested).toBeUndefined();
    expect(first.endpoint).toBe(source.endpoint);
  });

  it('replaces a target of the same name, and removes one, leaving the others', () => {
    const moved = withTarget(fanned, { ...analytics, trigger: { kind: 'manual' } });
    expect(moved.extraTargets).toHaveLength(1);
    expect(findTarget(moved, 'analytics')?.trigger).toEqual({ kind: 'manual' });
    const third = withTarget(moved, {
      ...analytics,
      name: 'audit',
      destination: { ...analytics.destination, name: 'audit' },
    });
    expect(third.extraTargets?.map((t) => t.name)).toEqual(['analytics', 'audit']);
    const back = withoutTarget(third, 'analytics');
    expect(back.extraTargets?.map((t) => t.name)).toEqual(['audit']);
    expect(withoutTarget(back, 'audit')).toEqual(source);
    // Changing the default keeps the extras.
    const def = withTarget(fanned, { ...findTarget(fanned, defaultTarget)!, paused: true });
    expect(def.paused).toBe(true);
    expect(def.extraTargets).toEqual([analytics]);
  });

  it('patches only the target that changed, and removes one target with its status', () => {
    const before = { ...renderSpec(fanned), ...st({ syncCount: 4 }, 'analytics') };
    const paused = withTarget(fanned, { ...analytics, paused: false });
    expect(specAnnotationsPatch(before, paused)).toEqual({
      'scribe.backube.io/paused.analytics': 'false',
    });
    expect(disableTargetPatch(before, 'analytics')).toEqual(
      Object.fromEntries(
        Object.keys(before)
          .filter((k) => k.endsWith('.analytics'))
          .map((k) => [k, null]),
      ),
    );
    expect(Object.keys(disableTargetPatch(before, 'analytics'))).toContain(
      'status.scribe.backube.io/sync-count.analytics',
    );
    expect(disableTargetPatch(before, defaultTarget)).toEqual({});
  });

  it('reads and writes each target its own status', () => {
    const a = {
      ...st({ lastSyncResult: 'Succeeded', syncCount: 3 }),
      ...st({ lastSyncResult: 'Failed', lastSyncError: 'no route' }, 'analytics'),
    };
    expect(a['status.scribe.backube.io/last-sync-result.analytics']).toBe('Failed');
    expect(parseStatus(a)).toEqual({ lastSyncResult: 'Succeeded', syncCount: 3 });
    expect(parseStatus(a, 'analytics')).toEqual({
      lastSyncResult: 'Failed',
      lastSyncError: 'no route',
    });
    expect(problemsOf({ ...renderSpec(fanned), ...a })).toEqual([]);
  });

  it('names the annotation of a malformed target key', () => {
    const base = renderSpec(source);
    expect(problemsOf({ ...base, 'scribe.backube.io/destination.Analytics': 'lake/bi/x' })).toEqual(
      [
        expect.stringMatching(
          /^scribe\.backube\.io\/destination\.Analytics: "Analytics" is not a target name: use a DNS-1123 label/,
        ),
      ],
    );
    expect(problemsOf({ ...base, 'scribe.backube.io/destination.default': 'lake/bi/x' })).toEqual([
      expect.stringContaining('"default" names the target of the unsuffixed keys'),
    ]);
    expect(problemsOf({ ...base, 'scribe.backube.io/method.analytics': 'clone' })).toEqual([
      expect.stringContaining(
        'scribe.backube.io/method.analytics: scribe.backube.io/method is one per PVC, not per target: remove the ".analytics" suffix',
      ),
    ]);
    expect(problemsOf({ ...base, 'scribe.backube.io/colour.analytics': 'x' })[0]).toContain(
      'unknown Scribe annotation',
    );
    expect(problemsOf({ ...base, 'status.scribe.backube.io/sync-count.a_b': '1' })[0]).toMatch(
      /^status\.scribe\.backube\.io\/sync-count\.a_b: "a_b" is not a target name/,
    );
  });

  it('refuses a target name that would make a key longer than 63 characters', () => {
    expect(maxTargetNameLength).toBe(63 - 'last-sync-consistency'.length - 1);
    const long = 'a'.repeat(maxTargetNameLength + 1);
    expect(parseTargetName('a'.repeat(maxTargetNameLength))).toEqual({
      ok: true,
      value: 'a'.repeat(maxTargetNameLength),
    });
    const r = parseTargetName(long);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(`at most ${maxTargetNameLength}`);
    expect(
      problemsOf({ ...renderSpec(source), [`scribe.backube.io/destination.${long}`]: 'lake/bi/x' }),
    ).toEqual([
      expect.stringContaining(`is ${long.length} characters: at most ${maxTargetNameLength}`),
    ]);
    // Every per-target key of the longest allowed name fits.
    const t = { ...analytics, name: 'a'.repeat(maxTargetNameLength) };
    const a = {
      ...renderSpec(withTarget(source, t)),
      ...st({ consecutiveFailures: 1, latestSnapshotTime: '2026-12-06T10:00:00Z' }, t.name),
    };
    for (const k of Object.keys(a))
      expect(k.slice(k.indexOf('/') + 1).length).toBeLessThanOrEqual(63);
    expect(problemsOf(a)).toEqual([]);
  });

  it('needs destination, secret and volume mode for every target', () => {
    expect(
      problemsOf({ ...renderSpec(source), 'scribe.backube.io/schedule.analytics': '@hourly' }),
    ).toEqual([
      'scribe.backube.io/destination.analytics: missing: a source needs its destination for target "analytics" as CONTEXT/NAMESPACE/PVC',
      'scribe.backube.io/secret.analytics: missing: a source needs the name of the key Secret for target "analytics"',
      `scribe.backube.io/volume-mode.analytics: missing: a source needs the destination's volume mode for target "analytics"`,
    ]);
    expect(
      problemsOf({ ...renderSpec(fanned), 'scribe.backube.io/schedule.analytics': 'often' })[0],
    ).toMatch(/^scribe\.backube\.io\/schedule\.analytics: "often" is not a schedule/);
  });

  it('refuses two targets with one destination, and several targets for a live copy', () => {
    const same = withTarget(source, { ...analytics, destination: source.destination });
    expect(problemsOf(renderSpec(same))).toEqual([
      'scribe.backube.io/destination.analytics: "dr/prod/data" is already the destination of target "default": each target needs its own destination PVC',
    ]);
    expect(problemsOf(renderSpec({ ...fanned, method: 'live' }))).toEqual([
      'scribe.backube.io/method: "live" replicates to one destination, but this PVC has 2 targets (default, analytics): use "snapshot" or "clone" to replicate to several, or remove the extra targets',
    ]);
  });

  it("records on a destination which of its source's targets it is", () => {
    const dst = {
      role: 'destination' as const,
      source: { context: 'prod', namespace: 'prod', name: 'data' },
      secret: 'scribe-destination-data-ro',
      snapshotsToKeep: 3,
      serviceType: 'LoadBalancer' as const,
      sourceTarget: 'analytics',
    };
    const a = renderSpec(dst);
    expect(a[specKeys.sourceTarget]).toBe('analytics');
    expect(parseSpec(a).spec).toEqual(dst);
    expect(problemsOf({ ...a, [specKeys.sourceTarget]: 'default' })).toEqual([
      expect.stringContaining('scribe.backube.io/source-target: "default" names the target'),
    ]);
    expect(problemsOf({ ...renderSpec(source), [specKeys.sourceTarget]: 'x' })).toEqual([
      'scribe.backube.io/source-target: only a destination PVC may carry it; this PVC is a source',
    ]);
  });

  it('refuses per-target keys on a destination', () => {
    const dst = {
      [specKeys.replication]: 'destination',
      [specKeys.source]: 'prod/prod/data',
      [specKeys.secret]: 'scribe-destination-data',
      'scribe.backube.io/schedule.analytics': '@hourly',
    };
    expect(problemsOf(dst)).toEqual([
      'scribe.backube.io/schedule.analytics: only a source PVC may carry per-target keys; this PVC is a destination',
    ]);
    expect(statusKeys.lastSyncResult).toBe('status.scribe.backube.io/last-sync-result');
  });
});
