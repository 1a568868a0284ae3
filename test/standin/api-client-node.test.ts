// @kubernetes/client-node 2 (what the plugin uses) against the stand-in:
// create, read, patch with each content type, list with selectors, errors as
// ApiException with the Status body, and a watch through its Watch class.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeKubeconfigs, startApiServer, type ApiServer } from './api/server.ts';

let server: ApiServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
const NS = 'cn';

const claim = (name: string): k8s.V1PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, labels: { app: 'scribe' } },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

beforeAll(async () => {
  server = await startApiServer();
  kc = new k8s.KubeConfig();
  kc.loadFromString(JSON.stringify(server.kubeconfig('standin', NS)));
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
});

afterAll(async () => {
  await server.stop();
});

describe('@kubernetes/client-node against the stand-in', () => {
  it('creates, reads and lists claims', async () => {
    const created = await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: claim('data'),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Pending');
    const read = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS });
    expect(read.spec?.volumeMode).toBe('Filesystem');
    expect(read.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const list = await core.listNamespacedPersistentVolumeClaim({
      namespace: NS,
      labelSelector: 'app=scribe',
    });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['data']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
  });

  it('patches with merge, JSON and strategic content types, and server-side apply', async () => {
    const merge = await core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'data',
        namespace: NS,
        body: { metadata: { annotations: { 'scribe.backube.io/replication': 'source' } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merge.metadata?.annotations?.['scribe.backube.io/replication']).toBe('source');
    const json = await core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'data',
        namespace: NS,
        body: [{ op: 'add', path: '/metadata/labels/tier', value: 'gold' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    expect(json.metadata?.labels).toEqual({ app: 'scribe', tier: 'gold' });
    const smp = await core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'data',
        namespace: NS,
        body: { metadata: { finalizers: ['scribe.backube.io/hold'] } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    // finalizers merge as a set under strategic merge patch
    expect(smp.metadata?.finalizers).toEqual([
      'kubernetes.io/pvc-protection',
      'scribe.backube.io/hold',
    ]);
    const applied = await core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'data',
        namespace: NS,
        fieldManager: 'scribe',
        body: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', annotations: { 'scribe.backube.io/method': 'live' } },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.metadata?.annotations?.['scribe.backube.io/method']).toBe('live');
    expect(applied.metadata?.managedFields?.map((m) => `${m.manager}/${m.operation}`)).toContain(
      'scribe/Apply',
    );
  });

  it('errors arrive as ApiException carrying the Status body', async () => {
    try {
      await core.readNamespacedPersistentVolumeClaim({ name: 'missing', namespace: NS });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(k8s.ApiException);
      const err = e as k8s.ApiException<string>;
      expect(err.code).toBe(404);
      expect(JSON.parse(err.body)).toMatchObject({
        kind: 'Status',
        reason: 'NotFound',
        message: 'persistentvolumeclaims "missing" not found',
      });
    }
    const stale = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS });
    await core.patchNamespacedPersistentVolumeClaim(
      { name: 'data', namespace: NS, body: { metadata: { labels: { bump: '1' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await expect(
      core.replaceNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS, body: stale }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it('watches through the Watch class: ADDED, MODIFIED, DELETED', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const seen: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const watch = new k8s.Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: k8s.V1ConfigMap) => {
        seen.push(`${phase}:${obj.metadata?.name}`);
        if (phase === 'DELETED') resolveDone();
      },
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: 'w' }, data: { a: '1' } },
      });
      await core.replaceNamespacedConfigMap({
        name: 'w',
        namespace: NS,
        body: { metadata: { name: 'w' }, data: { a: '2' } },
      });
      await core.deleteNamespacedConfigMap({ name: 'w', namespace: NS });
      await Promise.race([
        done,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`saw ${seen.join(',')}`)), 5000),
        ),
      ]);
    } finally {
      controller.abort();
    }
    expect(seen).toEqual(['ADDED:w', 'MODIFIED:w', 'DELETED:w']);
  });

  it('two stand-ins in one kubeconfig: contexts reach their own cluster', async () => {
    const other = await startApiServer({ name: 'destination' });
    try {
      const both = new k8s.KubeConfig();
      both.loadFromString(
        JSON.stringify(mergeKubeconfigs(server.kubeconfig('src', NS), other.kubeconfig('dst'))),
      );
      expect(both.getContexts().map((c) => c.name)).toEqual(['src', 'dst']);
      both.setCurrentContext('dst');
      const dst = both.makeApiClient(k8s.CoreV1Api);
      const names = (await dst.listNamespace()).items.map((n) => n.metadata?.name);
      expect(names).not.toContain(NS);
      expect(names).toContain('default');
      expect(() => mergeKubeconfigs(server.kubeconfig('a'), server.kubeconfig('b'))).toThrow(
        /two clusters are named "standin"/,
      );
    } finally {
      await other.stop();
    }
  });

  it('the read-only token may read but not write', async () => {
    const ro = new k8s.KubeConfig();
    const cfg = server.kubeconfig('ro', NS) as { users: { user: { token: string } }[] };
    cfg.users[0]!.user.token = server.readOnlyToken;
    ro.loadFromString(JSON.stringify(cfg));
    const api = ro.makeApiClient(k8s.CoreV1Api);
    expect((await api.listNamespacedPersistentVolumeClaim({ namespace: NS })).items).toHaveLength(
      1,
    );
    await expect(
      api.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS }),
    ).rejects.toMatchObject({ code: 403 });
  });
});
