// Application-consistent copies end to end on two stand-in clusters: an
// application pod mounts the source; its quiesce command (run by pods/exec)
// writes a marker that must be in the copy, and the unquiesce command removes
// it from the live volume once the copy is cut. A failing or timed-out hook
// fails the sync and leaves nothing quiesced; a replicator that restarts
// while the application is quiesced unquiesces it; with no pod running the
// copy is crash-consistent; kubectl scribe status -o wide says which.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RbacAuthorizationV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec, specKeys } from '../../model/src/index.ts';
import { kubeFrom } from '../../replicator/src/kube.ts';
import { reconcileAll } from '../../replicator/src/run.ts';
import { SCRIBE_IMAGE, waitFor } from '../standin/cluster-testing.ts';
import { CSI_CLASS } from '../standin/cluster.ts';
import {
  claim,
  destinationFor,
  drive,
  kubectlScribe,
  ns,
  onRealCluster,
  readClaim,
  registerScribe,
  requestSync,
  scribeWhileDriving,
  sourceSpec,
  startStand,
  statusOf,
  syncEnded,
  writeBothKubeconfig,
  type Stand,
} from './stand.ts';

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
}, 120_000);
afterAll(() => s?.stop());

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

const quiesce = '["sh","-c","date -u +%FT%TZ > /var/lib/db/QUIESCED"]';
const unquiesce = '["rm","-f","/var/lib/db/QUIESCED"]';

suite('quiesce hooks (stand-in)', () => {
  let endpoint: string;
  let sourceData: string;
  let destinationData: string;

  const events = async (reason: string) =>
    (
      await s.source.clients.core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.name=db,reason=${reason}`,
      })
    ).items as CoreV1Event[];

  const setHook = async (annotations: Record<string, string>) =>
    s.src.kube.mergePatch(await readClaim(s.source, 'db'), { metadata: { annotations } });

  it('sets up a database pod on a replicated claim with a quiesce hook', async () => {
    ({ dir: destinationData, endpoint } = await destinationFor(s, 'db'));
    sourceData = await claim(s.source, 'db', CSI_CLASS, {
      ...renderSpec(sourceSpec('db', endpoint, { method: 'snapshot' })),
      [specKeys.quiesceCommand]: quiesce,
      [specKeys.unquiesceCommand]: unquiesce,
      [specKeys.quiesceContainer]: 'postgres',
      [specKeys.quiesceTimeout]: '10s',
    });
    await s.source.clients.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'postgres-0', labels: { app: 'postgres' } },
        spec: {
          containers: [
            {
              name: 'postgres',
              image: SCRIBE_IMAGE,
              command: ['sleep', '3600'],
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/db' }],
            },
            { name: 'exporter', image: SCRIBE_IMAGE, command: ['sleep', '3600'] },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'db' } }],
        },
      },
    });
    await waitFor('postgres-0 to run', async () => {
      const p = await s.source.clients.core.readNamespacedPod({
        name: 'postgres-0',
        namespace: ns,
      });
      return p.status?.phase === 'Running' ? p : undefined;
    });
  });

  it('quiesces before the copy and unquiesces after: the marker is in the copy only', async () => {
    const at = await requestSync(s, 'db');
    const status = await syncEnded(s, 'db', at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({
      lastSyncResult: 'Succeeded',
      lastSyncConsistency: 'ApplicationConsistent',
    });
    expect(status.quiescedAt).toBeUndefined();
    expect(status.quiesceError).toBeUndefined();
    // The quiesce command ran in the pod, on the claim's volume, before the copy was cut...
    const marker = await readFile(join(destinationData, 'QUIESCED'), 'utf8');
    expect(Date.parse(marker.trim())).toBeLessThanOrEqual(Date.parse(status.lastSyncEnd!));
    // ...and the unquiesce command removed it from the live volume afterwards.
    expect(await exists(join(sourceData, 'QUIESCED'))).toBe(false);
    expect((await events('Quiesced'))[0]?.message).toBe(
      'quiesce command ran in postgres-0/postgres',
    );
    expect(await events('Unquiesced')).toHaveLength(1);
  });

  it('kubectl scribe status -o wide shows the consistency', async () => {
    const kubeconfig = await writeBothKubeconfig(s);
    const r = await kubectlScribe(kubeconfig, ['status', '-o', 'wide', '--context', 'source']);
    expect(r.stderr).toBe('');
    const [head, row] = r.stdout.trim().split('\n') as [string, string];
    const col = head.indexOf('CONSISTENCY');
    expect(col).toBeGreaterThan(0);
    expect(row.slice(col).split(/\s+/)[0]).toBe('Application');
  });

  it('a quiesce command that fails fails the sync, and the unquiesce command still runs', async () => {
    await setHook({
      [specKeys.quiesceCommand]:
        '["sh","-c","touch /var/lib/db/QUIESCED; echo database is in recovery >&2; exit 3"]',
    });
    const at = await requestSync(s, 'db');
    const status = await syncEnded(s, 'db', at);
    expect(status.lastSyncResult).toBe('Failed');
    expect(status.lastSyncError).toBe(
      'quiesce failed: quiesce command in pod postgres-0 container postgres exited with 3: database is in recovery',
    );
    expect(status.quiesceError).toContain('exited with 3');
    expect(status.quiescedAt).toBeUndefined();
    expect(await exists(join(sourceData, 'QUIESCED'))).toBe(false);
    expect(await events('QuiesceFailed')).toHaveLength(1);
  });

  it('a quiesce command that outlives its timeout fails the sync', async () => {
    await setHook({
      [specKeys.quiesceCommand]: '["sleep","30"]',
      [specKeys.quiesceTimeout]: '1s',
    });
    const at = await requestSync(s, 'db');
    const t0 = Date.now();
    const status = await syncEnded(s, 'db', at);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(status.lastSyncError).toBe(
      'quiesce failed: quiesce command in pod postgres-0 container postgres did not finish within 1s',
    );
    expect(status.quiescedAt).toBeUndefined();
  });

  it('a replicator restarted while the application is quiesced unquiesces it', async () => {
    await setHook({ [specKeys.quiesceCommand]: quiesce, [specKeys.quiesceTimeout]: '10s' });
    const at = await requestSync(s, 'db');
    // One pass of the first replicator: sync started, application quiesced, copy requested.
    await reconcileAll(s.src);
    const mid = await statusOf(s.source, 'db');
    expect(mid).toMatchObject({ syncHandled: at, quiescedPods: 'postgres-0/postgres' });
    expect(await exists(join(sourceData, 'QUIESCED'))).toBe(true);
    // It stops; a new one (its own API client, nothing carried over) takes over.
    const restarted = { ...s.src, kube: kubeFrom(s.source.clients.kc), identity: 'replicator-2' };
    const status = await waitFor(
      'the restarted replicator to finish the sync',
      async () => {
        await reconcileAll(s.dst);
        await reconcileAll(restarted);
        const st = await statusOf(s.source, 'db');
        return st.syncHandled === at && st.lastSyncResult !== 'Running' ? st : undefined;
      },
      60_000,
    );
    expect(status).toMatchObject({
      lastSyncResult: 'Succeeded',
      lastSyncConsistency: 'ApplicationConsistent',
    });
    expect(status.quiescedAt).toBeUndefined();
    expect(await exists(join(sourceData, 'QUIESCED'))).toBe(false);
    expect(await exists(join(destinationData, 'QUIESCED'))).toBe(true);
  });

  it('kubectl scribe enable --quiesce-command writes the hook and grants exec in the namespace only', async () => {
    const kubeconfig = await writeBothKubeconfig(s);
    await registerScribe(s.source);
    await registerScribe(s.destination);
    await claim(s.source, 'web', CSI_CLASS, {});
    const scribe = (...args: string[]) =>
      scribeWhileDriving(kubeconfig, [...args, '--context', 'source'], [s.dst, s.src]);
    const bad = await scribe(
      'enable',
      'pvc',
      'web',
      '--to',
      'destination',
      '--quiesce-command',
      'sync',
      '--quiesce-timeout',
      '90',
      '--dry-run',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'error: invalid --quiesce-timeout: "90" is not a duration from 1s to 10m: use e.g. "30s", "10m" or "1h30m"',
    );
    const r = await scribe(
      'enable',
      'pvc',
      'web',
      '--to',
      'destination',
      '--method',
      'snapshot',
      '--schedule',
      'manual',
      '--quiesce-command',
      'sync',
      '--unquiesce-command',
      '["true"]',
      '--quiesce-timeout',
      '45s',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'role.rbac.authorization.k8s.io/scribe-quiesce created (context source, namespace default)',
    );
    expect(r.stdout).toContain(
      'rolebinding.rbac.authorization.k8s.io/scribe-quiesce created (context source, namespace default)',
    );
    const a = (await readClaim(s.source, 'web')).metadata!.annotations!;
    expect(a[specKeys.quiesceCommand]).toBe('["sh","-c","sync"]');
    expect(a[specKeys.unquiesceCommand]).toBe('["true"]');
    expect(a[specKeys.quiesceTimeout]).toBe('45s');
    const rbac = s.source.clients.kc.makeApiClient(RbacAuthorizationV1Api);
    const binding = await rbac.readNamespacedRoleBinding({ name: 'scribe-quiesce', namespace: ns });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'scribe-replicator', namespace: 'scribe-system' },
    ]);
    const role = await rbac.readNamespacedRole({ name: 'scribe-quiesce', namespace: ns });
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
    ]);
    // Again without the flags: the hook is kept, nothing changes.
    const again = await scribe(
      'enable',
      'pvc',
      'web',
      '--to',
      'destination',
      '--method',
      'snapshot',
      '--schedule',
      'manual',
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('persistentvolumeclaim/web unchanged');
    expect((await readClaim(s.source, 'web')).metadata!.annotations![specKeys.quiesceCommand]).toBe(
      '["sh","-c","sync"]',
    );
  });

  it('with no pod running, the copy is crash-consistent and says so', async () => {
    await s.source.clients.core.deleteNamespacedPod({
      name: 'postgres-0',
      namespace: ns,
      gracePeriodSeconds: 0,
    });
    await waitFor('postgres-0 to go', async () =>
      (await s.source.clients.core
        .readNamespacedPod({ name: 'postgres-0', namespace: ns })
        .then(() => false)
        .catch(() => true))
        ? true
        : undefined,
    );
    const at = await requestSync(s, 'db');
    const status = await syncEnded(s, 'db', at);
    expect(status).toMatchObject({
      lastSyncResult: 'Succeeded',
      lastSyncConsistency: 'CrashConsistent',
    });
    expect((await events('QuiesceSkipped'))[0]?.message).toBe(
      'no running pod mounts the claim in a container "postgres": the copy is crash-consistent',
    );
    await drive(s, 'nothing left quiesced', async () =>
      (await statusOf(s.source, 'db')).quiescedAt === undefined ? true : undefined,
    );
  });

  it("disable removes the exec grant with the namespace's last hook only", async () => {
    const kubeconfig = await writeBothKubeconfig(s);
    const scribe = (...args: string[]) =>
      scribeWhileDriving(kubeconfig, [...args, '--context', 'source'], [s.dst, s.src]);
    const rbac = s.source.clients.kc.makeApiClient(RbacAuthorizationV1Api);
    const exists = () =>
      rbac.readNamespacedRole({ name: 'scribe-quiesce', namespace: ns }).then(
        () => true,
        () => false,
      );
    const web = await scribe('disable', 'pvc', 'web');
    expect(web.code, web.stderr).toBe(0);
    expect(web.stdout).not.toContain('scribe-quiesce');
    expect(await exists()).toBe(true); // db still has its hook
    const db = await scribe('disable', 'pvc', 'db');
    expect(db.code, db.stderr).toBe(0);
    expect(db.stdout).toContain(
      'rolebinding.rbac.authorization.k8s.io/scribe-quiesce deleted (context source, namespace default)',
    );
    expect(db.stdout).toContain(
      'role.rbac.authorization.k8s.io/scribe-quiesce deleted (context source, namespace default)',
    );
    expect(await exists()).toBe(false);
  });
});
