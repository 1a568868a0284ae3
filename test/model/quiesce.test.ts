import { describe, expect, it } from 'vitest';
import {
  parseArgv,
  parseSpec,
  parseStatus,
  parseDuration,
  renderSpec,
  renderStatus,
  renderDuration,
  specKeys,
  statusKeys,
  type SourceSpec,
} from '../../model/src/index.ts';

const base: Record<string, string> = {
  [specKeys.replication]: 'source',
  [specKeys.method]: 'snapshot',
  [specKeys.destination]: 'dr/prod/data',
  [specKeys.secret]: 'scribe-data-keys',
  [specKeys.volumeMode]: 'Filesystem',
};

const problemsOf = (a: Record<string, string>): string[] =>
  parseSpec({ ...base, ...a }).problems.map((p) => `${p.annotation}: ${p.message}`);

describe('quiesce hooks in the spec', () => {
  it('reads argv arrays, the container and the timeout, and renders them back', () => {
    const parsed = parseSpec({
      ...base,
      [specKeys.quiesceCommand]: '["psql","-c","CHECKPOINT"]',
      [specKeys.unquiesceCommand]: '["sh","-c","rm -f /data/.frozen"]',
      [specKeys.quiesceContainer]: 'db',
      [specKeys.quiesceTimeout]: '1m30s',
    });
    expect(parsed.problems).toEqual([]);
    const spec = parsed.spec as SourceSpec;
    expect(spec.quiesce).toEqual({
      command: ['psql', '-c', 'CHECKPOINT'],
      unquiesceCommand: ['sh', '-c', 'rm -f /data/.frozen'],
      container: 'db',
      timeoutSeconds: 90,
    });
    expect(parseSpec(renderSpec(spec)).spec).toEqual(spec);
  });

  it('defaults the timeout to 30s and needs no unquiesce command or container', () => {
    const spec = parseSpec({ ...base, [specKeys.quiesceCommand]: '["sync"]' }).spec as SourceSpec;
    expect(spec.quiesce).toEqual({ command: ['sync'], timeoutSeconds: 30 });
    expect(renderSpec(spec)[specKeys.quiesceTimeout]).toBe('30s');
    expect((parseSpec(base).spec as SourceSpec).quiesce).toBeUndefined();
  });

  it('says what is wrong with a command, a container, a timeout', () => {
    expect(problemsOf({ [specKeys.quiesceCommand]: 'sync' })).toEqual([
      `${specKeys.quiesceCommand}: "sync" is not a JSON array: use a JSON array of strings, e.g. ["fsfreeze","--freeze","/data"] or ["sh","-c","sync"]`,
    ]);
    expect(problemsOf({ [specKeys.quiesceCommand]: '[]' })[0]).toContain('[] is not a command');
    expect(problemsOf({ [specKeys.quiesceCommand]: '["a",1]' })[0]).toContain(
      '["a",1] is not a command',
    );
    expect(
      problemsOf({
        [specKeys.quiesceCommand]: '["sync"]',
        [specKeys.quiesceContainer]: 'DB_1',
        [specKeys.quiesceTimeout]: '45',
      }),
    ).toEqual([
      `${specKeys.quiesceContainer}: "DB_1" is not a container name (a DNS-1123 label)`,
      `${specKeys.quiesceTimeout}: "45" is not a duration from 1s to 10m: use e.g. "30s", "10m" or "1h30m"`,
    ]);
  });

  it('refuses hook keys without a quiesce command, and a hook on live', () => {
    expect(problemsOf({ [specKeys.unquiesceCommand]: '["true"]' })).toEqual([
      `${specKeys.unquiesceCommand}: only applies with ${specKeys.quiesceCommand}: set it, or remove this annotation`,
    ]);
    expect(
      problemsOf({ [specKeys.method]: 'live', [specKeys.quiesceCommand]: '["sync"]' }),
    ).toEqual([
      `${specKeys.quiesceCommand}: method "live" makes no point-in-time copy to quiesce for: use method snapshot or clone, or remove the quiesce annotations`,
    ]);
    const dest = parseSpec({
      [specKeys.replication]: 'destination',
      [specKeys.source]: 'prod/prod/data',
      [specKeys.secret]: 'k',
      [specKeys.quiesceCommand]: '["sync"]',
    });
    expect(dest.problems.map((p) => p.message)).toContain(
      'only a source PVC may carry it; this PVC is a destination',
    );
  });

  it('parses durations as Kubernetes writes them', () => {
    const parseTimeout = (v: string) => parseDuration(v, 1, 600);
    expect(parseTimeout('30s')).toEqual({ ok: true, value: 30 });
    expect(parseTimeout('2m')).toEqual({ ok: true, value: 120 });
    expect(parseTimeout('10m')).toEqual({ ok: true, value: 600 });
    expect(parseTimeout('1m30s')).toEqual({ ok: true, value: 90 });
    for (const bad of ['', '0s', '11m', '1h', '30', 's', '1.5s'])
      expect(parseTimeout(bad).ok, bad).toBe(false);
    expect([5, 60, 90, 600, 3600, 5400].map(renderDuration)).toEqual([
      '5s',
      '1m',
      '1m30s',
      '10m',
      '1h',
      '1h30m',
    ]);
    expect(parseArgv('["sh","-c","echo a b"]', '["x"]')).toEqual({
      ok: true,
      value: ['sh', '-c', 'echo a b'],
    });
  });
});

describe('consistency in the status', () => {
  it('round-trips the consistency and the quiesce record; refuses other values', () => {
    const a = renderStatus({
      lastSyncConsistency: 'ApplicationConsistent',
      quiescedAt: '2026-01-01T00:00:00Z',
      quiescedPods: 'db-0/db,db-1/db',
      quiesceError: null,
    }) as Record<string, string>;
    expect(a[statusKeys.quiesceError]).toBeNull();
    delete a[statusKeys.quiesceError];
    expect(parseStatus(a)).toEqual({
      lastSyncConsistency: 'ApplicationConsistent',
      quiescedAt: '2026-01-01T00:00:00Z',
      quiescedPods: 'db-0/db,db-1/db',
    });
    expect(
      parseSpec({ ...base, [statusKeys.lastSyncConsistency]: 'Application' }).problems[0]?.message,
    ).toBe('"Application" is not a consistency: ApplicationConsistent or CrashConsistent');
  });
});
