// The read-only copy's decisions: when a copy is restored, scrubbed, kept
// for its readers or replaced, what a failed scrub leaves, and the objects.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ReadOnlyCopySpec } from '../../model/src/index.ts';
import {
  decideCopy,
  nameTakenMessage,
  scrubFailure,
  type CopyState,
  type SnapshotView,
} from '../../replicator/src/copy-decide.ts';
import {
  exposedClaim,
  scrubJob,
  scrubbedSnapshot,
  stagingClaim,
} from '../../replicator/src/copy-objects.ts';
import { cleanupTargets } from '../../replicator/src/finalizer.ts';
import { groupOwned } from '../../replicator/src/owned.ts';
import { copyObjects, jobOutcome, mountedBy } from '../../replicator/src/read-only-copy.ts';

const plain: ReadOnlyCopySpec = { name: 'data-ro', accessMode: 'ReadOnlyMany' };
const scrubbing: ReadOnlyCopySpec = {
  ...plain,
  scrub: { image: 'scrub:1', command: ['rm', '/data/pii'], timeoutSeconds: 60 },
};
const snap = (syncId: string, o: Partial<SnapshotView> = {}): SnapshotView => ({
  name: `scribe-data-${syncId}`,
  syncId,
  readyToUse: true,
  creationTime: `2026-12-06T10:0${syncId}:00Z`,
  ...o,
});
const state = (o: Partial<CopyState>): CopyState => ({
  want: plain,
  destination: 'data',
  formerCopies: [],
  staging: [],
  jobs: [],
  scrubbed: [],
  status: {},
  ...o,
});
const kinds = (s: CopyState) => decideCopy(s).map((a) => a.kind);

describe('the read-only copy without a scrub step', () => {
  it('waits for the first complete snapshot', () => {
    expect(decideCopy(state({}))).toEqual([]);
  });

  it('restores the newest snapshot under the stable name when there is no copy', () => {
    expect(decideCopy(state({ latest: snap('1') }))).toEqual([
      { kind: 'create-exposed', from: snap('1'), history: snap('1') },
    ]);
  });

  it('leaves an up-to-date copy alone, recording its snapshot once', () => {
    const s = state({
      latest: snap('1'),
      exposed: { scribes: true, from: 'scribe-data-1', deleting: false },
    });
    expect(decideCopy(s)).toEqual([
      {
        kind: 'record',
        status: {
          readOnlyCopySnapshot: 'scribe-data-1',
          readOnlyCopySnapshotTime: '2026-12-06T10:01:00Z',
          readOnlyCopyPending: null,
        },
      },
    ]);
    expect(
      decideCopy({
        ...s,
        status: {
          readOnlyCopySnapshot: 'scribe-data-1',
          readOnlyCopySnapshotTime: '2026-12-06T10:01:00Z',
        },
      }),
    ).toEqual([]);
  });

  it('asks who mounts a stale copy, replaces it only when nobody does', () => {
    const s = state({
      latest: snap('2'),
      exposed: { scribes: true, from: 'scribe-data-1', deleting: false },
    });
    expect(kinds(s)).toEqual(['check-readers']);
    expect(kinds({ ...s, readers: false })).toEqual(['retire-exposed']);
    const waiting = decideCopy({ ...s, readers: true });
    expect(waiting.map((a) => a.kind)).toEqual(['event', 'record']);
    expect(waiting[1]).toEqual({
      kind: 'record',
      status: { readOnlyCopyPending: 'scribe-data-2' },
    });
    // Said once, not every pass.
    expect(
      decideCopy({ ...s, readers: true, status: { readOnlyCopyPending: 'scribe-data-2' } }),
    ).toEqual([]);
  });

  it('waits while a retired copy is still held by a reader', () => {
    expect(
      decideCopy(
        state({
          latest: snap('2'),
          exposed: { scribes: true, from: 'scribe-data-1', deleting: true },
        }),
      ),
    ).toEqual([]);
  });

  it("never takes over a claim that is not Scribe's copy, and says so once", () => {
    const s = state({ latest: snap('1'), exposed: { scribes: false, deleting: false } });
    const message = nameTakenMessage('data-ro', 'data');
    expect(decideCopy(s)).toEqual([
      { kind: 'event', type: 'Warning', reason: 'ReadOnlyCopyNameTaken', message },
      { kind: 'record', status: { readOnlyCopyError: message } },
    ]);
    expect(decideCopy({ ...s, status: { readOnlyCopyError: message } })).toEqual([]);
    expect(nameTakenMessage('data', 'data')).toMatch(/names the destination itself/);
  });
});

describe('the read-only copy when its spec changes', () => {
  it('removes a copy Scribe made under a former name', () => {
    expect(decideCopy(state({ latest: snap('1'), formerCopies: ['old-ro'] }))[0]).toEqual({
      kind: 'delete',
      what: 'exposed',
      name: 'old-ro',
    });
  });

  it('retires an unscrubbed copy as soon as a scrub step is set and nobody mounts it', () => {
    const s = state({
      want: scrubbing,
      latest: snap('1'),
      exposed: { scribes: true, from: 'scribe-data-1', deleting: false },
    });
    expect(kinds(s)).toEqual(['create-staging', 'create-scrub-job', 'record', 'check-readers']);
    expect(kinds({ ...s, readers: false })).toContain('retire-exposed');
    expect(kinds({ ...s, readers: true })).not.toContain('retire-exposed');
    // A scrubbed copy waits for the next scrubbed snapshot as usual.
    const scrubbed = {
      ...s,
      exposed: { scribes: true, from: 'x0', deleting: false },
      scrubbed: [snap('0', { name: 'x0' })],
      readers: false,
    };
    expect(kinds(scrubbed)).not.toContain('retire-exposed');
  });
});

describe('the read-only copy with a scrub step', () => {
  const base = state({ want: scrubbing, latest: snap('2') });

  it('restores a staging claim and runs the scrub Job on it first', () => {
    expect(decideCopy(base)).toEqual([
      { kind: 'create-staging', history: snap('2') },
      { kind: 'create-scrub-job', syncId: '2' },
      {
        kind: 'record',
        status: { scrubResult: 'Running', scrubSnapshot: 'scribe-data-2', scrubError: null },
      },
    ]);
  });

  it('snapshots the scrubbed claim once the Job succeeds, and exposes only that snapshot', () => {
    const staged = {
      ...base,
      staging: [{ name: 's2', syncId: '2' }],
      jobs: [{ name: 's2', syncId: '2', outcome: 'succeeded' as const }],
    };
    expect(kinds(staged)).toEqual(['snapshot-staging']);
    const cutting = { ...staged, scrubbed: [snap('2', { name: 'x2', readyToUse: false })] };
    expect(kinds(cutting)).toEqual([]);
    const ready = { ...staged, scrubbed: [snap('2', { name: 'x2' })] };
    const actions = decideCopy(ready);
    expect(actions).toContainEqual({ kind: 'delete', what: 'scrub', name: 's2' });
    expect(actions).toContainEqual({ kind: 'delete', what: 'staging', name: 's2' });
    expect(actions.at(-1)).toEqual({
      kind: 'create-exposed',
      from: snap('2', { name: 'x2' }),
      history: snap('2'),
    });
    // A copy restored from the unscrubbed history snapshot is stale.
    expect(
      kinds({ ...ready, exposed: { scribes: true, from: 'scribe-data-2', deleting: false } }),
    ).toContain('check-readers');
  });

  it('keeps the previous copy when the scrub fails, and retries only with the next snapshot', () => {
    const failed = {
      ...base,
      exposed: { scribes: true, from: 'x1', deleting: false },
      scrubbed: [snap('1', { name: 'x1' })],
      staging: [{ name: 's2', syncId: '2' }],
      jobs: [
        { name: 's2', syncId: '2', outcome: 'failed' as const, failure: 'exited with code 3' },
      ],
    };
    const actions = decideCopy(failed);
    expect(actions.map((a) => a.kind)).toEqual(['delete', 'delete', 'event', 'record']);
    expect(actions).not.toContainEqual(expect.objectContaining({ kind: 'retire-exposed' }));
    expect(actions).not.toContainEqual(expect.objectContaining({ name: 'x1' }));
    expect(actions[2]).toMatchObject({ type: 'Warning', reason: 'ScrubFailed' });
    expect(actions[3]).toEqual({
      kind: 'record',
      status: {
        scrubResult: 'Failed',
        scrubSnapshot: 'scribe-data-2',
        scrubError: 'exited with code 3',
      },
    });
    const recorded = {
      ...failed,
      staging: [],
      jobs: [],
      status: { scrubResult: 'Failed' as const, scrubSnapshot: 'scribe-data-2' },
    };
    expect(decideCopy(recorded)).toEqual([]);
    // The next sync's snapshot is scrubbed afresh; the old scrubbed snapshot stays with the copy.
    expect(kinds({ ...recorded, latest: snap('3') })).toEqual([
      'create-staging',
      'create-scrub-job',
      'record',
    ]);
  });

  it('drops scrub work for a snapshot that a newer sync superseded', () => {
    const actions = decideCopy({
      ...base,
      latest: snap('3'),
      staging: [{ name: 's2', syncId: '2' }],
      jobs: [{ name: 's2', syncId: '2', outcome: 'running' }],
      scrubbed: [snap('1', { name: 'x1' })],
    });
    expect(actions.slice(0, 3)).toEqual([
      { kind: 'delete', what: 'staging', name: 's2' },
      { kind: 'delete', what: 'scrub', name: 's2' },
      { kind: 'delete', what: 'scrubbed', name: 'x1' },
    ]);
    expect(actions.map((a) => a.kind)).toContain('create-scrub-job');
  });

  it("reads a scrub Job's outcome from its counts or, at a deadline, its condition", () => {
    expect(jobOutcome({ status: { active: 1 } })).toBe('running');
    expect(jobOutcome({ status: { succeeded: 1 } })).toBe('succeeded');
    expect(jobOutcome({ status: { failed: 1 } })).toBe('failed');
    const at = new Date();
    const deadline = {
      type: 'Failed',
      status: 'True',
      reason: 'DeadlineExceeded',
      lastTransitionTime: at,
    };
    expect(jobOutcome({ status: { conditions: [deadline] } })).toBe('failed');
    expect(jobOutcome({ status: { conditions: [{ ...deadline, status: 'False' }] } })).toBe(
      'running',
    );
  });

  it('says why a scrub Job failed', () => {
    const failed = [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }];
    expect(scrubFailure({ conditions: failed }, { exitCode: 137 }, 60)).toBe(
      'did not finish within 60s (scribe.backube.io/scrub-timeout)',
    );
    expect(scrubFailure({}, { exitCode: 3, reason: 'Error' }, 60)).toBe(
      'the scrub container exited with code 3',
    );
    expect(scrubFailure({}, { reason: 'ErrImagePull', message: 'not found' }, 60)).toBe(
      'the scrub container did not run: ErrImagePull: not found',
    );
  });
});

describe("the read-only copy's objects", () => {
  const destination: V1PersistentVolumeClaim = {
    metadata: { name: 'data', namespace: 'app', uid: 'u1' },
    spec: { storageClassName: 'standard', accessModes: ['ReadWriteOnce'] },
    status: { capacity: { storage: '2Gi' } },
  };

  it('restores the copy ReadOnlyMany from the chosen snapshot, labelled and owned', () => {
    const c = exposedClaim(destination, plain, { snapshot: 'x2', syncId: '2', restoreSize: '2Gi' });
    expect(c.metadata).toMatchObject({
      name: 'data-ro',
      namespace: 'app',
      labels: {
        'app.kubernetes.io/managed-by': 'scribe',
        'app.kubernetes.io/component': 'exposed',
        'scribe.backube.io/pvc': 'data',
        'scribe.backube.io/sync-id': '2',
      },
      ownerReferences: [{ kind: 'PersistentVolumeClaim', name: 'data', uid: 'u1' }],
    });
    expect(c.metadata?.annotations).toBeUndefined(); // no Scribe spec: the webhook leaves it alone
    expect(c.spec).toMatchObject({
      accessModes: ['ReadOnlyMany'],
      storageClassName: 'standard',
      resources: { requests: { storage: '2Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'x2' },
    });
    const staging = stagingClaim(destination, { ...plain, storageClass: 'cheap' }, snap('2'));
    expect(staging.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'cheap',
      dataSource: { name: 'scribe-data-2' },
    });
    expect(scrubbedSnapshot(destination, '2').spec.source.persistentVolumeClaimName).toBe(
      staging.metadata?.name,
    );
  });

  it("runs the user's argv as given, read-write on the staging claim, with a deadline and least privilege", () => {
    const job = scrubJob(destination, scrubbing.scrub!, '2');
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 60 });
    expect(c.command).toEqual(['rm', '/data/pii']);
    expect(c.args).toBeUndefined();
    expect(c.image).toBe('scrub:1');
    expect(c.volumeMounts).toContainEqual({ name: 'volume', mountPath: '/data' });
    expect(pod.volumes).toContainEqual({
      name: 'volume',
      persistentVolumeClaim: { claimName: 'scribe-scrub-data-2' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: false, runAsUser: 0 });
    expect(c.securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'] },
    });
    const nonRoot = scrubJob(destination, { ...scrubbing.scrub!, runAsUser: 1000 }, '2');
    expect(nonRoot.spec!.template.spec!.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
    });
    expect(nonRoot.spec!.template.spec!.containers[0]!.securityContext?.capabilities).toEqual({
      drop: ['ALL'],
    });
  });

  it('gives a Block copy to the scrub as a device, and keeps the volume mode', () => {
    const block: V1PersistentVolumeClaim = {
      ...destination,
      spec: { ...destination.spec, volumeMode: 'Block' },
    };
    const c = scrubJob(block, scrubbing.scrub!, '2').spec!.template.spec!.containers[0]!;
    expect(c.volumeDevices).toEqual([{ name: 'volume', devicePath: '/dev/scribe-volume' }]);
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(c.env).toContainEqual({ name: 'SCRIBE_VOLUME', value: '/dev/scribe-volume' });
    expect(exposedClaim(block, plain, { snapshot: 'x', syncId: '2' }).spec?.volumeMode).toBe(
      'Block',
    );
    expect(stagingClaim(block, plain, snap('2')).spec?.volumeMode).toBe('Block');
  });

  it("is removed on clean-up only where Scribe made it, and a pod's mount is seen", () => {
    const copy = exposedClaim(destination, plain, { snapshot: 'x', syncId: '1' });
    const users: V1PersistentVolumeClaim = { metadata: { name: 'data-ro', namespace: 'app' } };
    const owned = groupOwned({
      claims: [copy, users],
      jobs: [scrubJob(destination, scrubbing.scrub!, '1')],
      snapshots: [scrubbedSnapshot(destination, '1')],
      services: [],
      pods: [],
    }).get('app/data')!;
    const names = cleanupTargets(owned).map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Job/scribe-scrub-data-1',
        'PersistentVolumeClaim/data-ro',
        'VolumeSnapshot/scribe-scrubbed-data-1',
      ]),
    );
    expect(cleanupTargets(owned)).not.toContain(users);
    expect(copyObjects(owned)).toHaveLength(3);

    const pod = (phase: string, claim: string, scribe = false): V1Pod => ({
      metadata: scribe ? { labels: { 'app.kubernetes.io/managed-by': 'scribe' } } : {},
      spec: {
        containers: [],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: claim } }],
      },
      status: { phase },
    });
    expect(mountedBy([pod('Running', 'data-ro')], 'data-ro')).toBe(true);
    expect(mountedBy([pod('Pending', 'data-ro')], 'data-ro')).toBe(true);
    expect(mountedBy([pod('Succeeded', 'data-ro'), pod('Failed', 'data-ro')], 'data-ro')).toBe(
      false,
    );
    expect(mountedBy([pod('Running', 'other'), pod('Running', 'data-ro', true)], 'data-ro')).toBe(
      false,
    );
  });
});
