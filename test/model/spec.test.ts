import { describe, expect, it } from 'vitest';
import {
  describeProblems,
  disableAnnotationsPatch,
  parseSpec,
  renderSpec,
  specAnnotationsPatch,
  specKeys,
  statusKeys,
  type DestinationSpec,
  type SourceSpec,
} from '../../model/src/index.ts';

const source: SourceSpec = {
  role: 'source',
  method: 'clone',
  destination: { context: 'dr', namespace: 'prod', name: 'data' },
  endpoint: '10.0.0.7:2222',
  secret: 'scribe-data-3f9a',
  destinationVolumeMode: 'Filesystem',
  trigger: { kind: 'schedule', cron: '*/15 * * * *' },
  paused: false,
  liveRequiresRwo: false,
  checksumEvery: 10,
};

const destination: DestinationSpec = {
  role: 'destination',
  source: { context: 'prod', namespace: 'prod', name: 'data' },
  secret: 'scribe-data-3f9a',
  snapshotsToKeep: 5,
  serviceType: 'ClusterIP',
};

function problemsOf(annotations: Record<string, string>): string[] {
  return parseSpec(annotations).problems.map((p) => `${p.annotation}: ${p.message}`);
}

describe('the replication spec', () => {
  it('round-trips a source and a destination through annotations', () => {
    for (const spec of [
      source,
      destination,
      { ...source, trigger: { kind: 'manual' as const }, endpoint: undefined },
      { ...source, method: 'acme.example.com', syncRequested: '2026-11-26T07:00:00Z' },
    ]) {
      const clean = JSON.parse(JSON.stringify(spec));
      const parsed = parseSpec(renderSpec(spec));
      expect(parsed.problems).toEqual([]);
      expect(parsed.spec).toEqual(clean);
    }
  });

  it('treats a PVC without Scribe annotations as not enabled, whatever else it carries', () => {
    expect(parseSpec(undefined)).toEqual({ enabled: false, problems: [] });
    expect(parseSpec({ 'replication.example.io/method': 'x', app: 'web' })).toEqual({
      enabled: false,
      problems: [],
    });
  });

  it('defaults the schedule to manual, paused to false and snapshots to keep to 3', () => {
    const a = renderSpec(source);
    delete a[specKeys.schedule];
    delete a[specKeys.paused];
    expect(parseSpec(a).spec).toMatchObject({ trigger: { kind: 'manual' }, paused: false });
    const d = renderSpec(destination);
    delete d[specKeys.snapshotsToKeep];
    expect(parseSpec(d).spec).toMatchObject({ snapshotsToKeep: 3 });
  });

  const bad: [string, string, RegExp][] = [
    [specKeys.replication, 'primary', /"primary" is not a role: use "source" or "destination"/],
    [specKeys.method, 'Live Copy', /not a method name: use live, snapshot, clone/],
    [specKeys.destination, 'dr/prod', /not a PVC reference: use CONTEXT\/NAMESPACE\/PVC/],
    [specKeys.destination, '/prod/data', /empty context/],
    [specKeys.destination, 'dr/Prod/data', /"Prod" .* not a valid namespace name/],
    [specKeys.destination, 'dr/prod/Data_1', /"Data_1" .* not a valid PVC name/],
    [specKeys.endpoint, 'backup.example.net', /not an endpoint: use HOST:PORT/],
    [specKeys.endpoint, 'backup:70000', /not an endpoint/],
    [specKeys.secret, 'Keys!', /not a valid Secret name/],
    [specKeys.volumeMode, 'filesystem', /not a volume mode: use Filesystem or Block/],
    [specKeys.schedule, 'every 5 minutes', /not a schedule: use 5 cron fields/],
    [specKeys.schedule, '61 * * * *', /not a schedule \(.*0-59.*\)/],
    [specKeys.schedule, '0 0 * * * *', /not a schedule/],
    [specKeys.paused, 'yes', /not a boolean: use "true" or "false"/],
    [specKeys.syncRequested, 'now', /not an RFC 3339 time/],
    [specKeys.liveRequiresRwo, '1', /not a boolean/],
    [statusKeys.lastSyncResult, 'Done', /not a sync result: Running, Succeeded or Failed/],
    [statusKeys.lastSyncBytes, '-5', /not a whole number/],
    [statusKeys.lastSyncDuration, '5 minutes', /not a duration in seconds/],
    [statusKeys.nextSync, 'tomorrow', /not an RFC 3339 time/],
  ];
  for (const [key, value, message] of bad) {
    it(`rejects ${key}=${JSON.stringify(value)} naming the annotation and the valid forms`, () => {
      const problems = problemsOf({ ...renderSpec(source), [key]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')}: `));
      expect(problems[0]).toMatch(message);
      // A bad status value is reported but leaves the spec usable.
      const spec = parseSpec({ ...renderSpec(source), [key]: value }).spec;
      if (key.startsWith('status.')) expect(spec).toEqual(source);
      else expect(spec).toBeUndefined();
    });
  }

  it('rejects unknown keys under both prefixes, listing the valid ones', () => {
    const problems = problemsOf({
      ...renderSpec(source),
      'scribe.backube.io/shedule': '* * * * *',
      'status.scribe.backube.io/last-sync': 'x',
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/shedule: unknown Scribe annotation; valid keys are .*schedule/);
    expect(problems[1]).toMatch(/last-sync: unknown Scribe status annotation/);
  });

  it('names missing keys and keys on the wrong side', () => {
    expect(problemsOf({ [specKeys.method]: 'clone' })).toEqual([
      `${specKeys.replication}: missing: set it to "source" or "destination" (or remove every scribe.backube.io/ annotation)`,
    ]);
    expect(problemsOf({ [specKeys.replication]: 'source' })).toEqual([
      `${specKeys.secret}: missing: a source needs the name of its key Secret`,
      `${specKeys.method}: missing: a source needs a method (live, snapshot or clone)`,
      `${specKeys.destination}: missing: a source needs its destination as CONTEXT/NAMESPACE/PVC`,
      `${specKeys.volumeMode}: missing: a source needs the destination's volume mode`,
    ]);
    expect(problemsOf({ ...renderSpec(destination), [specKeys.method]: 'clone' })).toEqual([
      `${specKeys.method}: only a source PVC may carry it; this PVC is a destination`,
    ]);
  });

  it('describes problems the way kubectl lists field errors', () => {
    const { problems } = parseSpec({ ...renderSpec(source), [specKeys.paused]: 'yes' });
    expect(describeProblems(problems)).toBe(
      'metadata.annotations[scribe.backube.io/paused]: "yes" is not a boolean: use "true" or "false"',
    );
  });

  it('patches only what changes, and removes every Scribe key on disable', () => {
    const current = { ...renderSpec(source), app: 'web', [statusKeys.lastSyncResult]: 'Failed' };
    expect(specAnnotationsPatch(current, source)).toEqual({});
    const manual = { ...source, trigger: { kind: 'manual' as const } };
    const withoutEndpoint = { ...manual, endpoint: undefined };
    expect(specAnnotationsPatch(current, withoutEndpoint)).toEqual({
      [specKeys.schedule]: 'manual',
      [specKeys.endpoint]: null,
    });
    const off = disableAnnotationsPatch(current);
    expect(Object.keys(off)).toHaveLength(Object.keys(current).length - 1);
    expect(off).not.toHaveProperty('app');
    expect(Object.values(off).every((v) => v === null)).toBe(true);
  });
});
