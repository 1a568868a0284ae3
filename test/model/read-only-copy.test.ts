import { describe, expect, it } from 'vitest';
import {
  describeProblems,
  parseSpec,
  renderSpec,
  specKeys,
  type DestinationSpec,
} from '../../model/src/index.ts';

const destination: DestinationSpec = {
  role: 'destination',
  source: { context: 'prod', namespace: 'prod', name: 'data' },
  secret: 'scribe-data-3f9a',
  snapshotsToKeep: 3,
  serviceType: 'ClusterIP',
};

function problemsOf(annotations: Record<string, string>): string[] {
  return parseSpec(annotations).problems.map((p) => `${p.annotation}: ${p.message}`);
}

describe("a destination's read-only copy", () => {
  it('round-trips with and without a scrub step', () => {
    for (const spec of [
      { ...destination, readOnlyCopy: { name: 'data-ro', accessMode: 'ReadOnlyMany' as const } },
      {
        ...destination,
        readOnlyCopy: {
          name: 'data-staging',
          accessMode: 'ReadWriteOnce' as const,
          storageClass: 'fast',
          scrub: {
            image: 'registry.example.com:5000/tools/scrub:1.2@sha256:' + 'a'.repeat(64),
            command: ['sh', '-c', 'rm -f /data/secrets; echo "$x" > /data/y'],
            timeoutSeconds: 5400,
            runAsUser: 1000,
          },
        },
      },
    ]) {
      const parsed = parseSpec(renderSpec(spec));
      expect(parsed.problems).toEqual([]);
      expect(parsed.spec).toEqual(spec);
    }
  });

  it('defaults to ReadOnlyMany, the destination class and a 10-minute scrub', () => {
    const a = {
      ...renderSpec(destination),
      [specKeys.readOnlyCopy]: 'data-ro',
      [specKeys.scrubImage]: 'scrub',
      [specKeys.scrubCommand]: '["/scrub"]',
    };
    expect(parseSpec(a).spec).toMatchObject({
      readOnlyCopy: {
        name: 'data-ro',
        accessMode: 'ReadOnlyMany',
        scrub: { image: 'scrub', command: ['/scrub'], timeoutSeconds: 600 },
      },
    });
    expect(parseSpec(a).spec?.role === 'destination' && parseSpec(a).spec).not.toHaveProperty(
      'readOnlyCopy.storageClass',
    );
  });

  it.each([
    [specKeys.readOnlyCopy, 'Data_RO', /"Data_RO" is not a valid PVC name/],
    [
      specKeys.readOnlyCopyAccessMode,
      'ReadOnly',
      /"ReadOnly" is not an access mode: use ReadOnlyMany/,
    ],
    [specKeys.readOnlyCopyStorageClass, 'Fast SSD', /not a valid StorageClass name/],
    [specKeys.scrubImage, 'Registry/Tools:latest', /not an image reference/],
    [specKeys.scrubImage, 'scrub; rm -rf /', /not an image reference/],
    [
      specKeys.scrubCommand,
      'rm -rf /data/secrets',
      /"rm -rf \/data\/secrets" is not a JSON array: use a JSON array of strings/,
    ],
    [specKeys.scrubCommand, '[]', /\[\] is not a command/],
    [specKeys.scrubCommand, '["sh", 1]', /is not a command/],
    [specKeys.scrubCommand, '{"cmd":"x"}', /is not a command/],
    [specKeys.scrubCommand, '[""]', /is not a command/],
    [
      specKeys.scrubTimeout,
      '10',
      /"10" is not a duration from 10s to 24h: use e.g. "30s", "10m" or "1h30m"/,
    ],
    [specKeys.scrubTimeout, '5s', /not a duration/],
    [specKeys.scrubTimeout, '25h', /not a duration/],
    [specKeys.scrubRunAsUser, '0', /not a non-root UID/],
  ])('rejects %s=%j naming the annotation', (key, value, message) => {
    const a = {
      ...renderSpec(destination),
      [specKeys.readOnlyCopy]: 'data-ro',
      [specKeys.scrubImage]: 'scrub',
      [specKeys.scrubCommand]: '["/scrub"]',
      [key]: value,
    };
    const parsed = parseSpec(a);
    expect(parsed.spec).toBeUndefined();
    const problems = problemsOf(a);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${key}: `)).toBe(true);
    expect(problems[0]).toMatch(message);
    expect(describeProblems(parsed.problems)).toContain(`metadata.annotations[${key}]`);
  });

  it('refuses scrub and copy options without a copy, and half a scrub step', () => {
    expect(problemsOf({ ...renderSpec(destination), [specKeys.scrubImage]: 'scrub' })).toEqual([
      `${specKeys.scrubImage}: applies to a read-only copy: set ${specKeys.readOnlyCopy} to the copy's PVC name too`,
    ]);
    const base = { ...renderSpec(destination), [specKeys.readOnlyCopy]: 'data-ro' };
    expect(problemsOf({ ...base, [specKeys.scrubImage]: 'scrub' })).toEqual([
      `${specKeys.scrubCommand}: missing: a scrub step needs its command, a JSON array such as ["/bin/scrub"]`,
    ]);
    expect(problemsOf({ ...base, [specKeys.scrubCommand]: '["x"]' })).toEqual([
      `${specKeys.scrubImage}: missing: a scrub step needs the image to run (${specKeys.scrubCommand} says what it runs)`,
    ]);
  });

  it('is a destination key: a source may not carry it', () => {
    expect(
      problemsOf({
        [specKeys.replication]: 'source',
        [specKeys.method]: 'clone',
        [specKeys.destination]: 'dr/prod/data',
        [specKeys.secret]: 's',
        [specKeys.volumeMode]: 'Filesystem',
        [specKeys.readOnlyCopy]: 'data-ro',
      }),
    ).toEqual([
      `${specKeys.readOnlyCopy}: only a destination PVC may carry it; this PVC is a source`,
    ]);
  });
});
