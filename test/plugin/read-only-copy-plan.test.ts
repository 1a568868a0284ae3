// `enable pvc --read-only-copy ... --scrub-*`: flags to the destination's
// keys (checked by the model's parser, errors naming the flags), kept on a
// re-run without them; and how `status -o wide` shows the copy.
import { describe, expect, it } from 'vitest';
import { parseSpec, renderSpec, renderStatus, specKeys } from '../../model/src/index.ts';
import { planEnable, scribeWebhookDomain } from '../../plugin/src/plan/enable.ts';
import { commandAnnotation, planReadOnlyCopy } from '../../plugin/src/plan/read-only-copy.ts';
import { readOnlyCopyCell, replicationRow } from '../../plugin/src/status/rows.ts';

const current = { name: 'old-ro', accessMode: 'ReadOnlyMany' as const };

describe('the read-only copy flags', () => {
  it('split a plain --scrub-command at spaces, never through a shell; a JSON array passes as is', () => {
    expect(commandAnnotation('rm -f  /data/pii.csv')).toBe('["rm","-f","/data/pii.csv"]');
    expect(commandAnnotation('rm -f /data/x; reboot')).toBe('["rm","-f","/data/x;","reboot"]');
    expect(commandAnnotation(' ["sh", "-c", "a b"]')).toBe(' ["sh", "-c", "a b"]');
  });

  it('describe the whole copy when any is given, and keep the current one otherwise', () => {
    expect(planReadOnlyCopy({}, current, 'data')).toEqual({ spec: current, errors: [] });
    expect(
      planReadOnlyCopy(
        {
          name: 'data-ro',
          scrubImage: 'scrub:1',
          scrubCommand: 'rm /data/pii',
          scrubTimeout: '2m',
        },
        current,
        'data',
      ),
    ).toEqual({
      spec: {
        name: 'data-ro',
        accessMode: 'ReadOnlyMany',
        scrub: { image: 'scrub:1', command: ['rm', '/data/pii'], timeoutSeconds: 120 },
      },
      errors: [],
    });
  });

  it("remove the copy with --read-only-copy '', alone", () => {
    expect(planReadOnlyCopy({ name: '' }, current, 'data')).toEqual({
      spec: undefined,
      errors: [],
    });
    expect(planReadOnlyCopy({ name: '', scrubImage: 'x' }, current, 'data').errors).toEqual([
      "--read-only-copy '' removes the read-only copy: drop --scrub-image",
    ]);
  });

  it('name the flag in each error, as the user typed it', () => {
    expect(planReadOnlyCopy({ scrubImage: 'scrub:1' }, undefined, 'data').errors).toEqual([
      "invalid --scrub-image: applies to a read-only copy: set --read-only-copy to the copy's PVC name too",
    ]);
    expect(
      planReadOnlyCopy(
        { name: 'data-ro', scrubImage: 'Bad Image', scrubCommand: '[1]', scrubTimeout: '1d' },
        undefined,
        'data',
      ).errors,
    ).toEqual([
      'invalid --scrub-image: "Bad Image" is not an image reference: use e.g. "registry.example.com/tools/scrub:1.2"',
      'invalid --scrub-command: [1] is not a command: use a JSON array of strings, e.g. ["/bin/scrub", "--table", "users"]',
      'invalid --scrub-timeout: "1d" is not a duration from 10s to 24h: use e.g. "30s", "10m" or "1h30m"',
    ]);
    expect(planReadOnlyCopy({ name: 'data' }, undefined, 'data').errors).toEqual([
      '--read-only-copy data is the destination PVC itself: name another PVC, e.g. --read-only-copy data-ro',
    ]);
  });

  it("go into the destination's spec that enable writes", () => {
    const plan = planEnable({
      source: {
        context: 'prod',
        pvc: {
          metadata: { name: 'data', namespace: 'apps' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
        storageClass: { metadata: { name: 'fast' }, provisioner: 'csi.example.com' },
        snapshotClasses: [],
        webhookNames: [`pvc.${scribeWebhookDomain}`],
        secret: undefined,
      },
      destination: {
        ref: { context: 'dr', namespace: 'apps', name: 'data' },
        sameCluster: false,
        pvc: undefined,
        secret: undefined,
        deployment: undefined,
        service: undefined,
        storageClass: undefined,
        webhookNames: [`pvc.${scribeWebhookDomain}`],
      },
      options: {
        method: 'auto',
        schedule: 'manual',
        image: 'ghcr.io/backube/scribe:v0.1.0',
        readOnlyCopy: { name: 'data-ro', scrubImage: 'scrub:1', scrubCommand: '["/scrub"]' },
      },
    });
    expect(plan.errors).toEqual([]);
    const written = renderSpec(plan.destinationSpec);
    expect(written[specKeys.readOnlyCopy]).toBe('data-ro');
    expect(written[specKeys.scrubCommand]).toBe('["/scrub"]');
    expect(parseSpec(written).spec).toEqual(plan.destinationSpec);
  });
});

describe('status -o wide', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const row = (status: Parameters<typeof renderStatus>[0]) =>
    replicationRow({
      metadata: {
        name: 'data',
        namespace: 'apps',
        annotations: {
          ...renderSpec({
            role: 'destination',
            source: { context: 'prod', namespace: 'apps', name: 'data' },
            secret: 's',
            snapshotsToKeep: 3,
            serviceType: 'LoadBalancer',
            readOnlyCopy: {
              name: 'data-ro',
              accessMode: 'ReadOnlyMany',
              scrub: { image: 'scrub', command: ['/scrub'], timeoutSeconds: 600 },
            },
          }),
          ...(renderStatus(status) as Record<string, string>),
        },
      },
    })!;

  it("shows the copy's snapshot and age, a newer one waiting, and a failed scrub", () => {
    expect(readOnlyCopyCell(row({}), now)).toBe('data-ro (not made yet)');
    expect(
      readOnlyCopyCell(
        row({
          readOnlyCopySnapshot: 'scribe-data-1',
          readOnlyCopySnapshotTime: '2026-12-06T11:55:00Z',
          readOnlyCopyPending: 'scribe-data-2',
          scrubResult: 'Failed',
          scrubSnapshot: 'scribe-data-3',
          scrubError: 'exit 3',
        }),
        now,
      ),
    ).toBe(
      'data-ro (scribe-data-1, data 5m old; scribe-data-2 waits for readers to stop; scrub of scribe-data-3 failed)',
    );
  });
});
