// The quiesce hook's decisions (targets, when a copy is cut, failure words)
// and its course through the reconciler on a recording API: quiesce before
// the copy, unquiesce once it is cut; a failing hook fails the sync and
// leaves nothing quiesced; no pod is a crash-consistent copy; a record left
// by a stopped replicator is undone.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseStatus } from '../../model/src/index.ts';
import { execOutcome } from '../../replicator/src/kube.ts';
import {
  copyCut,
  hookFailure,
  parseTargets,
  quiesceTargets,
  renderTargets,
  type HookOutcome,
} from '../../replicator/src/quiesce.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { passOptions, recordingKube } from '../manifests/support/recording-kube.ts';

const pod = (name: string, over: Partial<V1Pod> = {}, running = ['db']): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'app' },
  spec: {
    containers: [
      { name: 'db', volumeMounts: [{ name: 'd', mountPath: '/data' }] },
      { name: 'metrics' },
    ],
    volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
  },
  status: {
    phase: 'Running',
    containerStatuses: running.map((n) => ({ name: n, state: { running: {} } }) as never),
  },
  ...over,
});

describe('quiesce decisions', () => {
  it('targets the running containers that mount the claim, in running application pods', () => {
    const pods = [
      pod('db-0'),
      pod('db-1', {}, ['metrics']), // db not running
      pod('done', { status: { phase: 'Succeeded' } }),
      pod('mover', {
        metadata: { name: 'mover', labels: { 'app.kubernetes.io/managed-by': 'scribe' } },
      }),
      pod('other', { spec: { containers: [{ name: 'db' }] } }),
    ];
    expect(quiesceTargets(pods, 'data')).toEqual({ targets: [{ pod: 'db-0', container: 'db' }] });
    expect(quiesceTargets(pods, 'data', 'metrics').targets).toEqual([
      { pod: 'db-1', container: 'metrics' },
    ]);
    expect(quiesceTargets(pods, 'data', 'nope').problem).toBe(
      'pod db-0 mounts the claim but has no container "nope" (it has db, metrics): fix scribe.backube.io/quiesce-container',
    );
    expect(quiesceTargets([], 'data')).toEqual({ targets: [] });
  });

  it('records targets and reads them back', () => {
    const t = [
      { pod: 'db-0', container: 'db' },
      { pod: 'db-1', container: 'db' },
    ];
    expect(renderTargets(t)).toBe('db-0/db,db-1/db');
    expect(parseTargets(renderTargets(t))).toEqual(t);
    expect(parseTargets(undefined)).toEqual([]);
  });

  it('counts a snapshot as cut at its creationTime, a clone once Bound', () => {
    const snap = (status: object) =>
      ({
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: {},
        spec: { source: { persistentVolumeClaimName: 'd' } },
        status,
      }) as never;
    expect(copyCut({ snapshot: snap({}) })).toBe(false);
    expect(
      copyCut({ snapshot: snap({ creationTime: '2026-01-01T00:00:00Z', readyToUse: false }) }),
    ).toBe(true);
    expect(copyCut({ claim: { status: { phase: 'Pending' } } })).toBe(false);
    expect(copyCut({ claim: { status: { phase: 'Bound' } } })).toBe(true);
    expect(copyCut({})).toBe(false);
  });

  it('words failures and reads the exec Status', () => {
    const t = { pod: 'db-0', container: 'db' };
    expect(
      hookFailure('quiesce', t, 30, { kind: 'exited', exitCode: 0, stderr: '' }),
    ).toBeUndefined();
    expect(
      hookFailure('quiesce', t, 30, { kind: 'exited', exitCode: 2, stderr: 'a\nlocked\n' }),
    ).toBe('quiesce command in pod db-0 container db exited with 2: locked');
    expect(hookFailure('unquiesce', t, 5, { kind: 'timed-out' })).toBe(
      'unquiesce command in pod db-0 container db did not finish within 5s',
    );
    expect(execOutcome({ status: 'Success' }, '')).toEqual({
      kind: 'exited',
      exitCode: 0,
      stderr: '',
    });
    expect(
      execOutcome(
        { status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: '3' }] } },
        'x',
      ),
    ).toEqual({ kind: 'exited', exitCode: 3, stderr: 'x' });
    expect(execOutcome({ status: 'Failure', message: 'boom' }, '')).toEqual({
      kind: 'refused',
      message: 'boom',
    });
  });
});

describe('the hook in the reconciler', () => {
  const hooked = {
    'scribe.backube.io/replication': 'source',
    'scribe.backube.io/method': 'snapshot',
    'scribe.backube.io/destination': 'dst/app/backup',
    'scribe.backube.io/endpoint': 'scribe-backup.app:2222',
    'scribe.backube.io/secret': 'scribe-keys',
    'scribe.backube.io/volume-mode': 'Filesystem',
    'scribe.backube.io/schedule': 'manual',
    'scribe.backube.io/sync-requested': '2026-01-01T00:00:00Z',
    'scribe.backube.io/quiesce-command': '["sh","-c","touch /data/.frozen"]',
    'scribe.backube.io/unquiesce-command': '["rm","/data/.frozen"]',
    'scribe.backube.io/quiesce-timeout': '5s',
  };
  const setup = (annotations: Record<string, string>, outcome?: (cmd: string[]) => HookOutcome) => {
    const api = recordingKube();
    api.put({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'app', uid: 'u1', annotations },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound' },
    } as never);
    const ran: string[] = [];
    const exec = api.kube.exec;
    api.kube.exec = async (ns, p, c, cmd, ms) => {
      ran.push(`${p}/${c} ${cmd.join(' ')} (${ms} ms)`);
      return outcome ? outcome(cmd) : exec(ns, p, c, cmd, ms);
    };
    const o = passOptions(api.kube);
    const status = () =>
      parseStatus(
        [...api.objects.values()].find(
          (x) => x.kind === 'PersistentVolumeClaim' && x.metadata?.name === 'data',
        )!.metadata!.annotations,
      );
    const snapshots = () => [...api.objects.values()].filter((x) => x.kind === 'VolumeSnapshot');
    const events = () =>
      [...api.objects.values()]
        .filter((x) => x.kind === 'Event')
        .map((e) => (e as { reason?: string }).reason);
    return { api, ran, o, status, snapshots, events };
  };

  it('quiesces, cuts the copy, and unquiesces once the snapshot has a creationTime', async () => {
    const s = setup(hooked);
    s.api.put(pod('db-0') as never);
    await reconcileAll(s.o);
    expect(s.ran).toEqual(['db-0/db sh -c touch /data/.frozen (5000 ms)']);
    expect(s.status()).toMatchObject({
      lastSyncResult: 'Running',
      lastSyncConsistency: 'ApplicationConsistent',
      quiescedAt: '2026-01-01T00:00:10.000Z',
      quiescedPods: 'db-0/db',
    });
    expect(s.snapshots()).toHaveLength(1);
    await reconcileAll(s.o); // not cut yet: still quiesced
    expect(s.ran).toHaveLength(1);
    (s.snapshots()[0] as { status?: object }).status = { creationTime: '2026-01-01T00:00:11Z' };
    await reconcileAll(s.o);
    expect(s.ran.at(-1)).toBe('db-0/db rm /data/.frozen (5000 ms)');
    expect(s.status().quiescedAt).toBeUndefined();
    expect(s.events()).toEqual(expect.arrayContaining(['Quiesced', 'Unquiesced']));
  });

  it('fails the sync when the quiesce command fails, and unquiesces at once', async () => {
    const s = setup(hooked, (cmd) =>
      cmd[0] === 'sh'
        ? { kind: 'exited', exitCode: 1, stderr: 'read-only file system\n' }
        : { kind: 'exited', exitCode: 0, stderr: '' },
    );
    s.api.put(pod('db-0') as never);
    await reconcileAll(s.o);
    expect(s.ran).toEqual([
      'db-0/db sh -c touch /data/.frozen (5000 ms)',
      'db-0/db rm /data/.frozen (5000 ms)',
    ]);
    const st = s.status();
    expect(st.lastSyncResult).toBe('Failed');
    expect(st.lastSyncError).toBe(
      'quiesce failed: quiesce command in pod db-0 container db exited with 1: read-only file system',
    );
    expect(st.quiesceError).toContain('exited with 1');
    expect(st.quiescedAt).toBeUndefined();
    expect(s.snapshots()).toEqual([]);
    expect(s.events()).toEqual(expect.arrayContaining(['QuiesceFailed', 'SyncFailed']));
  });

  it('a timed-out quiesce fails the sync too', async () => {
    const s = setup(hooked, (cmd) =>
      cmd[0] === 'sh' ? { kind: 'timed-out' } : { kind: 'exited', exitCode: 0, stderr: '' },
    );
    s.api.put(pod('db-0') as never);
    await reconcileAll(s.o);
    expect(s.status().lastSyncError).toBe(
      'quiesce failed: quiesce command in pod db-0 container db did not finish within 5s',
    );
  });

  it('copies crash-consistent when no pod runs, and without a hook', async () => {
    const s = setup(hooked);
    await reconcileAll(s.o);
    expect(s.ran).toEqual([]);
    expect(s.status()).toMatchObject({
      lastSyncResult: 'Running',
      lastSyncConsistency: 'CrashConsistent',
    });
    expect(s.events()).toContain('QuiesceSkipped');
    const plain = { ...hooked } as Record<string, string>;
    for (const k of Object.keys(plain)) if (k.includes('quiesce')) delete plain[k];
    const t = setup(plain);
    t.api.put(pod('db-0') as never);
    await reconcileAll(t.o);
    expect(t.ran).toEqual([]);
    expect(t.status().lastSyncConsistency).toBe('CrashConsistent');
  });

  it('a quiesce recorded by a replicator that stopped before its copy is undone, then the sync goes on', async () => {
    const s = setup({
      ...hooked,
      'status.scribe.backube.io/last-sync-start': '2026-01-01T00:00:05Z',
      'status.scribe.backube.io/last-sync-result': 'Running',
      'status.scribe.backube.io/sync-handled': '2026-01-01T00:00:00Z',
      'status.scribe.backube.io/quiesced-at': '2026-01-01T00:00:05Z',
      'status.scribe.backube.io/quiesced-pods': 'db-0/db',
      'status.scribe.backube.io/quiesced-undo': '["rm","/data/.frozen"]',
    });
    s.api.put(pod('db-0') as never);
    await reconcileAll(s.o);
    expect(s.ran).toEqual([
      'db-0/db rm /data/.frozen (5000 ms)',
      'db-0/db sh -c touch /data/.frozen (5000 ms)',
    ]);
    expect(s.snapshots()).toHaveLength(1);
    expect(s.status()).toMatchObject({
      quiescedPods: 'db-0/db',
      lastSyncConsistency: 'ApplicationConsistent',
    });
  });

  it('undoes a quiesce with the command recorded with it, though the hook was removed since', async () => {
    // The first pass quiesces with the hook; the user removes it before the copy is cut.
    const withHook = setup(hooked);
    withHook.api.put(pod('db-0') as never);
    await reconcileAll(withHook.o);
    const recorded = withHook.status();
    expect(recorded.quiescedUndo).toBe('["rm","/data/.frozen"]');
    const claim = [...withHook.api.objects.values()].find(
      (x) => x.kind === 'PersistentVolumeClaim' && x.metadata?.name === 'data',
    )!;
    for (const k of Object.keys(claim.metadata!.annotations!))
      if (k.startsWith('scribe.backube.io/quiesce') || k.startsWith('scribe.backube.io/unquiesce'))
        delete claim.metadata!.annotations![k];
    (withHook.snapshots()[0] as { status?: object }).status = { readyToUse: true };
    await reconcileAll(withHook.o);
    expect(withHook.ran.at(-1)).toBe('db-0/db rm /data/.frozen (30000 ms)');
    expect(withHook.status().quiescedAt).toBeUndefined();
    expect(withHook.status().quiescedUndo).toBeUndefined();
  });
});
