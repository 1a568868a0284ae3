// API semantics over HTTP: watches, selectors, paging, optimistic concurrency,
// status subresources, finalizers, garbage collection, namespace deletion,
// immutability, tables and discovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './api/server.ts';
import { call, fixture, openWatch, type Conn } from './api/testing.ts';

let server: ApiServer;
let admin: Conn;
const NS = 'sem';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const PVCS = `/api/v1/namespaces/${NS}/persistentvolumeclaims`;
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

const pvc = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, labels },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

type Obj = {
  kind?: string;
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    generation?: number;
    ownerReferences?: unknown[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};

async function create(path: string, body: unknown): Promise<Obj> {
  const r = await call(admin, 'POST', path, body);
  expect(r.status, r.text).toBe(201);
  return r.json() as Obj;
}

beforeAll(async () => {
  server = await startApiServer({ bookmarkIntervalMs: 200 });
  admin = { url: server.url, caPem: server.caPem, token: server.token };
  await create('/api/v1/namespaces', { metadata: { name: NS } });
});

afterAll(async () => {
  await server.stop();
});

describe('watch', () => {
  it('streams ADDED, MODIFIED, DELETED from a list resourceVersion, with bookmarks and the timeout', async () => {
    const list = (await call(admin, 'GET', CM)).json() as { metadata: { resourceVersion: string } };
    const w = openWatch(
      admin,
      `${CM}?watch=1&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=2`,
    );
    expect(await w.status).toBe(200);
    await create(CM, { metadata: { name: 'w1' }, data: { a: '1' } });
    await call(admin, 'PATCH', `${CM}/w1`, { data: { a: '2' } }, MERGE);
    await call(admin, 'DELETE', `${CM}/w1`);
    const events = await w.until(3);
    expect(events.slice(0, 3).map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    const rvs = events.slice(0, 3).map((e) => Number(e.object.metadata!.resourceVersion));
    expect(rvs[0]).toBeGreaterThan(Number(list.metadata.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(rvs[0]!);
    expect(rvs[2]).toBeGreaterThan(rvs[1]!);
    await w.ended; // timeoutSeconds=2 ends the stream
    const bookmarks = w.events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(0);
    expect(bookmarks.at(-1)!.object).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(rvs[2]), creationTimestamp: null },
    });
  });

  it('replays history from an older resourceVersion, and sends initial ADDED events without one', async () => {
    const a = await create(CM, { metadata: { name: 'h1' } });
    await create(CM, { metadata: { name: 'h2' } });
    const replay = openWatch(
      admin,
      `${CM}?watch=true&resourceVersion=${Number(a.metadata.resourceVersion) - 1}&timeoutSeconds=1`,
    );
    await replay.ended;
    expect(replay.events.map((e) => `${e.type}:${e.object.metadata!.name}`)).toEqual([
      'ADDED:h1',
      'ADDED:h2',
    ]);
    // As on a fresh 1.24 apiserver (errors/200-watch-rv-1-fresh-apiserver-no-410.json): rv=1 replays everything.
    const fromOne = openWatch(admin, `${CM}?watch=1&resourceVersion=1&timeoutSeconds=1`);
    await fromOne.ended;
    expect(fromOne.events.map((e) => e.type)).not.toContain('ERROR');
    expect(
      fromOne.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata!.name),
    ).toEqual(expect.arrayContaining(['kube-root-ca.crt', 'w1', 'h1', 'h2']));
    const initial = openWatch(admin, `${CM}?watch=true&timeoutSeconds=1`);
    await initial.ended;
    expect(initial.events.map((e) => e.object.metadata!.name).sort()).toEqual([
      'h1',
      'h2',
      'kube-root-ca.crt',
    ]);
  });

  it('with a label selector: an object that starts matching is ADDED, one that stops is DELETED', async () => {
    const w = openWatch(
      admin,
      `${CM}?watch=1&labelSelector=${encodeURIComponent('tier in (gold)')}&timeoutSeconds=3`,
    );
    await w.status;
    await create(CM, { metadata: { name: 's1', labels: { tier: 'silver' } } });
    await call(admin, 'PATCH', `${CM}/s1`, { metadata: { labels: { tier: 'gold' } } }, MERGE);
    await call(admin, 'PATCH', `${CM}/s1`, { data: { x: 'y' } }, MERGE);
    await call(admin, 'PATCH', `${CM}/s1`, { metadata: { labels: { tier: 'bronze' } } }, MERGE);
    const events = await w.until(3);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    w.close();
  });

  it('a watch from before the retained window gets 200 and one ERROR event with 410 Expired', async () => {
    const small = await startApiServer({ watchHistory: 5 });
    try {
      const c = { url: small.url, caPem: small.caPem, token: small.token };
      for (let i = 0; i < 8; i++)
        await call(c, 'POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: `c${i}` },
        });
      const w = openWatch(c, '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2');
      expect(await w.status).toBe(200);
      await w.ended;
      expect(w.events).toHaveLength(1);
      expect(w.events[0]!.type).toBe('ERROR');
      expect(w.events[0]!.object).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
      });
      expect(String(w.events[0]!.object.message)).toMatch(/^too old resource version: 2 \(\d+\)$/);
    } finally {
      await small.stop();
    }
  });

  it('a Table watch (kubectl get -w) sends one-row Tables', async () => {
    const accept =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const w = openWatch(admin, `${PVCS}?watch=true&timeoutSeconds=2`, { Accept: accept });
    await create(PVCS, pvc('table-watch'));
    const [e] = await w.until(1);
    expect(e!.type).toBe('ADDED');
    expect(e!.object.kind).toBe('Table');
    const rows = e!.object.rows as { cells: unknown[]; object: { kind: string } }[];
    expect(rows[0]!.cells.slice(0, 2)).toEqual(['table-watch', 'Pending']);
    expect(rows[0]!.object.kind).toBe('PartialObjectMetadata');
    w.close();
  });
});

describe('reads', () => {
  it('label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors', async () => {
    await create(PVCS, pvc('l-a', { app: 'web', tier: 'gold' }));
    await create(PVCS, pvc('l-b', { app: 'db' }));
    await create(PVCS, pvc('l-c', { app: 'web', tier: 'silver' }));
    const names = async (q: string) =>
      ((await call(admin, 'GET', `${PVCS}?${q}`)).json() as { items: Obj[] }).items
        .map((i) => i.metadata.name)
        .filter((n) => n.startsWith('l-'));
    const sel = (s: string) => `labelSelector=${encodeURIComponent(s)}`;
    expect(await names(sel('app=web'))).toEqual(['l-a', 'l-c']);
    expect(await names(sel('app==db'))).toEqual(['l-b']);
    expect(await names(sel('app!=web'))).toEqual(['l-b']);
    expect(await names(sel('tier in (gold,bronze)'))).toEqual(['l-a']);
    expect(await names(sel('tier notin (gold)'))).toEqual(['l-b', 'l-c']);
    expect(await names(sel('tier'))).toEqual(['l-a', 'l-c']);
    expect(await names(sel('!tier'))).toEqual(['l-b']);
    expect(await names(sel('app=web,tier=silver'))).toEqual(['l-c']);
    expect(await names(`fieldSelector=${encodeURIComponent('metadata.name=l-b')}`)).toEqual([
      'l-b',
    ]);
    expect(
      await names(
        `fieldSelector=${encodeURIComponent('metadata.name!=l-b,metadata.namespace=sem')}`,
      ),
    ).toEqual(['l-a', 'l-c']);
    const bad = await call(admin, 'GET', `${PVCS}?fieldSelector=spec.nodeName%3Dx`);
    expect(bad.status).toBe(400);
    expect((bad.json() as { message: string }).message).toBe(
      'field label not supported: spec.nodeName',
    );
  });

  it('pods by status.phase and spec.nodeName; events by involvedObject', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'p1' },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] },
    });
    const q = (s: string) =>
      call(admin, 'GET', `/api/v1/namespaces/${NS}/pods?fieldSelector=${encodeURIComponent(s)}`);
    expect(
      ((await q('status.phase=Pending,spec.nodeName=node-a')).json() as { items: Obj[] }).items,
    ).toHaveLength(1);
    expect(((await q('spec.nodeName=node-b')).json() as { items: Obj[] }).items).toHaveLength(0);
    await create(`/api/v1/namespaces/${NS}/events`, {
      metadata: { name: 'p1.1' },
      involvedObject: { kind: 'Pod', name: 'p1', namespace: NS },
      reason: 'Scheduled',
      message: 'ok',
      type: 'Normal',
    });
    const ev = await call(
      admin,
      'GET',
      `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('involvedObject.name=p1,involvedObject.kind=Pod')}`,
    );
    expect((ev.json() as { items: Obj[] }).items.map((i) => i.metadata.name)).toEqual(['p1.1']);
  });

  it('lists carry the resourceVersion; limit and continue page through', async () => {
    const first = (await call(admin, 'GET', `${PVCS}?limit=2`)).json() as {
      metadata: { resourceVersion: string; continue: string; remainingItemCount: number };
      items: Obj[];
    };
    expect(first.items).toHaveLength(2);
    expect(Number(first.metadata.resourceVersion)).toBeGreaterThan(0);
    const all = (await call(admin, 'GET', PVCS)).json() as { items: Obj[]; kind: string };
    expect(all.kind).toBe('PersistentVolumeClaimList');
    expect(first.metadata.remainingItemCount).toBe(all.items.length - 2);
    const rest = (
      await call(admin, 'GET', `${PVCS}?limit=100&continue=${first.metadata.continue}`)
    ).json() as { items: Obj[] };
    expect([...first.items, ...rest.items].map((i) => i.metadata.name)).toEqual(
      all.items.map((i) => i.metadata.name),
    );
    // Built-in lists carry items without kind/apiVersion, as the real server does.
    expect(all.items[0]!.kind).toBeUndefined();
  });

  it('discovery documents match the 1.24 ones for every resource the stand-in serves', async () => {
    for (const [path, file] of [
      ['/api/v1', 'api-v1.json'],
      ['/apis/apps/v1', 'apis-apps-v1.json'],
      ['/apis/batch/v1', 'apis-batch-v1.json'],
      ['/apis/storage.k8s.io/v1', 'apis-storage.k8s.io-v1.json'],
      ['/apis/coordination.k8s.io/v1', 'apis-coordination.k8s.io-v1.json'],
      ['/apis/admissionregistration.k8s.io/v1', 'apis-admissionregistration.k8s.io-v1.json'],
    ] as const) {
      const got = (await call(admin, 'GET', path)).json() as {
        resources: { name: string }[];
      } & Record<string, unknown>;
      const want = fixture<typeof got>(`discovery/${file}`);
      expect(Object.keys(got)).toEqual(Object.keys(want));
      for (const r of got.resources)
        expect(r, path).toEqual(want.resources.find((w) => w.name === r.name));
    }
    const apis = (await call(admin, 'GET', '/apis')).json() as { groups: { name: string }[] };
    const want = fixture<typeof apis>('discovery/apis.json');
    for (const g of apis.groups) {
      const w = want.groups.find((x) => x.name === g.name) as
        { versions: { version: string }[]; preferredVersion: unknown } | undefined;
      if (!w) {
        expect(['snapshot.storage.k8s.io']).toContain(g.name);
        continue;
      }
      expect((g as unknown as typeof w).preferredVersion).toEqual(w.preferredVersion);
    }
    const api = await call(admin, 'GET', '/api', undefined, {
      Accept:
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
    });
    expect(api.headers['content-type']).toBe('application/json');
    expect(Object.keys(api.json() as object)).toEqual(Object.keys(fixture('discovery/api.json')));
    const version = (await call({ url: admin.url, caPem: admin.caPem }, 'GET', '/version')).json();
    expect(version).toEqual(fixture('discovery/version.json'));
  });
});

describe('writes', () => {
  it('optimistic concurrency: a merge patch carrying a stale resourceVersion is a 409', async () => {
    const o = await create(CM, { metadata: { name: 'occ' } });
    await call(admin, 'PATCH', `${CM}/occ`, { data: { a: '1' } }, MERGE);
    const r = await call(
      admin,
      'PATCH',
      `${CM}/occ`,
      { metadata: { resourceVersion: o.metadata.resourceVersion }, data: { a: '2' } },
      MERGE,
    );
    expect(r.status).toBe(409);
    expect((r.json() as { reason: string }).reason).toBe('Conflict');
  });

  it('DELETE on a collection deletes what the selector matches', async () => {
    await create(CM, { metadata: { name: 'dc-1', labels: { batch: 'x' } } });
    await create(CM, { metadata: { name: 'dc-2', labels: { batch: 'x' } } });
    await create(CM, { metadata: { name: 'dc-3', labels: { batch: 'y' } } });
    const r = await call(admin, 'DELETE', `${CM}?labelSelector=batch%3Dx`);
    expect(r.status).toBe(200);
    expect((r.json() as { kind: string; items: Obj[] }).items.map((i) => i.metadata.name)).toEqual([
      'dc-1',
      'dc-2',
    ]);
    const left = (await call(admin, 'GET', `${CM}?labelSelector=batch`)).json() as { items: Obj[] };
    expect(left.items.map((i) => i.metadata.name)).toEqual(['dc-3']);
  });

  it('resourceVersions come from one cluster-wide counter', async () => {
    const a = await create(CM, { metadata: { name: 'rv-a' } });
    const b = await create(PVCS, pvc('rv-b'));
    expect(Number(b.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
  });

  it('status subresource: /status writes only status; the main resource ignores status', async () => {
    const o = await create(PVCS, pvc('st'));
    const main = await call(
      admin,
      'PATCH',
      `${PVCS}/st`,
      { status: { phase: 'Bound' }, metadata: { labels: { a: 'b' } } },
      MERGE,
    );
    expect((main.json() as Obj).status).toEqual({ phase: 'Pending' });
    expect((main.json() as Obj).metadata.labels).toEqual({ a: 'b' });
    const st = await call(
      admin,
      'PATCH',
      `${PVCS}/st/status`,
      { status: { phase: 'Bound' }, metadata: { labels: { a: 'c' } } },
      MERGE,
    );
    expect(st.status).toBe(200);
    expect((st.json() as Obj).status).toEqual({ phase: 'Bound' });
    expect((st.json() as Obj).metadata.labels).toEqual({ a: 'b' });
    const got = (await call(admin, 'GET', `${PVCS}/st/status`)).json() as Obj;
    expect(got.metadata.uid).toBe(o.metadata.uid);
    expect(got.status).toEqual({ phase: 'Bound' });
  });

  it('a finalizer keeps a deleted object (deletionTimestamp set) until the finalizer is removed', async () => {
    await create(CM, { metadata: { name: 'fin', finalizers: ['example.com/hold'] } });
    const d = await call(admin, 'DELETE', `${CM}/fin`);
    expect(d.status).toBe(200);
    const held = (await call(admin, 'GET', `${CM}/fin`)).json() as Obj;
    expect(held.metadata.deletionTimestamp).toBeDefined();
    const add = await call(
      admin,
      'PATCH',
      `${CM}/fin`,
      { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } },
      MERGE,
    );
    expect(add.status).toBe(422);
    const rm = await call(admin, 'PATCH', `${CM}/fin`, { metadata: { finalizers: null } }, MERGE);
    expect(rm.status).toBe(200);
    expect((await call(admin, 'GET', `${CM}/fin`)).status).toBe(404);
  });

  it('garbage collection: background deletes dependents, orphan keeps them, foreground waits for them', async () => {
    const owner = async (name: string) => create(CM, { metadata: { name } });
    const dependent = async (name: string, o: Obj) =>
      create(CM, {
        metadata: {
          name,
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: o.metadata.name,
              uid: o.metadata.uid,
              blockOwnerDeletion: true,
            },
          ],
        },
      });
    const bg = await owner('gc-bg');
    await dependent('gc-bg-d', bg);
    await call(admin, 'DELETE', `${CM}/gc-bg`, { propagationPolicy: 'Background' });
    await server.settled();
    expect((await call(admin, 'GET', `${CM}/gc-bg-d`)).status).toBe(404);

    const or = await owner('gc-or');
    await dependent('gc-or-d', or);
    await call(admin, 'DELETE', `${CM}/gc-or`, { propagationPolicy: 'Orphan' });
    await server.settled();
    expect((await call(admin, 'GET', `${CM}/gc-or`)).status).toBe(404);
    const orphan = await call(admin, 'GET', `${CM}/gc-or-d`);
    expect(orphan.status).toBe(200);
    expect((orphan.json() as Obj).metadata.ownerReferences).toBeUndefined();

    const fg = await owner('gc-fg');
    await dependent('gc-fg-d', fg);
    const r = await call(admin, 'DELETE', `${CM}/gc-fg`, { propagationPolicy: 'Foreground' });
    expect((r.json() as Obj).metadata.finalizers).toEqual(['foregroundDeletion']);
    await server.settled();
    expect((await call(admin, 'GET', `${CM}/gc-fg-d`)).status).toBe(404);
    expect((await call(admin, 'GET', `${CM}/gc-fg`)).status).toBe(404);
  });

  it('deleting a namespace deletes its contents, then the namespace; new content is refused meanwhile', async () => {
    await create('/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await server.settled();
    await create('/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'x' } });
    await create('/api/v1/namespaces/doomed/persistentvolumeclaims', pvc('claim'));
    const d = await call(admin, 'DELETE', '/api/v1/namespaces/doomed');
    expect((d.json() as Obj).status).toEqual({ phase: 'Terminating' });
    const refused = await call(admin, 'POST', '/api/v1/namespaces/doomed/configmaps', {
      metadata: { name: 'late' },
    });
    expect(refused.status).toBe(403);
    // The claim's protection finalizer goes (no pod uses it), then the namespace.
    await server.settled();
    expect((await call(admin, 'GET', '/api/v1/namespaces/doomed')).status).toBe(404);
    expect((await call(admin, 'GET', '/api/v1/namespaces/doomed/configmaps/x')).status).toBe(404);
  });

  it('immutable fields: Secret with immutable: true, pod spec, metadata.uid', async () => {
    await create(`/api/v1/namespaces/${NS}/secrets`, {
      metadata: { name: 'imm' },
      immutable: true,
      data: { k: 'dg==' },
    });
    const s = await call(
      admin,
      'PATCH',
      `/api/v1/namespaces/${NS}/secrets/imm`,
      { data: { k: 'dw==' } },
      MERGE,
    );
    expect(s.status).toBe(422);
    expect((s.json() as { message: string }).message).toBe(
      'Secret "imm" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
    const pod = `/api/v1/namespaces/${NS}/pods/p1`;
    expect(
      (
        await call(
          admin,
          'PATCH',
          pod,
          { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } },
          { 'Content-Type': 'application/strategic-merge-patch+json' },
        )
      ).status,
    ).toBe(200);
    const bad = await call(admin, 'PATCH', pod, { spec: { restartPolicy: 'Never' } }, MERGE);
    expect(bad.status).toBe(422);
    expect((bad.json() as { message: string }).message).toMatch(
      /^Pod "p1" is invalid: spec: Forbidden: pod updates may not change fields other than/,
    );
    const cm = (await call(admin, 'GET', `${CM}/occ`)).json() as Obj;
    const put = await call(admin, 'PUT', `${CM}/occ`, {
      ...cm,
      metadata: { ...cm.metadata, uid: 'other' },
    });
    expect(put.status).toBe(422);
    expect((put.json() as { message: string }).message).toBe(
      'ConfigMap "occ" is invalid: metadata.uid: Invalid value: "other": field is immutable',
    );
    // creationTimestamp is the server's: a PUT cannot move it.
    const moved = await call(admin, 'PUT', `${CM}/occ`, {
      ...cm,
      metadata: { ...cm.metadata, creationTimestamp: '2000-01-01T00:00:00Z' },
    });
    expect(
      (moved.json() as { metadata: { creationTimestamp: string } }).metadata.creationTimestamp,
    ).not.toBe('2000-01-01T00:00:00Z');
  });

  it('generateName makes a 5-character suffix; a missing name is a 422', async () => {
    const o = await create(CM, { metadata: { generateName: 'gen-' } });
    expect(o.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const r = await call(admin, 'POST', CM, { metadata: {} });
    expect(r.status).toBe(422);
    expect((r.json() as { message: string }).message).toBe(
      'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
    );
  });

  it('strategic merge patch merges containers by name and volumeMounts by mountPath; $patch: delete removes one', async () => {
    const dep = `/apis/apps/v1/namespaces/${NS}/deployments`;
    await create(dep, {
      metadata: { name: 'smp' },
      spec: {
        selector: { matchLabels: { app: 'smp' } },
        template: {
          metadata: { labels: { app: 'smp' } },
          spec: {
            containers: [
              { name: 'a', image: 'a:1', volumeMounts: [{ name: 'v', mountPath: '/v' }] },
              { name: 'b', image: 'b:1' },
            ],
            volumes: [{ name: 'v', emptyDir: {} }],
          },
        },
      },
    });
    const r = await call(
      admin,
      'PATCH',
      `${dep}/smp`,
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'a:2', volumeMounts: [{ name: 'w', mountPath: '/w' }] },
                { name: 'b', $patch: 'delete' },
              ],
            },
          },
        },
      },
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    expect(r.status).toBe(200);
    const o = r.json() as {
      metadata: { generation: number };
      spec: {
        template: {
          spec: {
            containers: { name: string; image: string; volumeMounts: { mountPath: string }[] }[];
          };
        };
      };
    };
    const cs = o.spec.template.spec.containers;
    expect(cs.map((c) => `${c.name}=${c.image}`)).toEqual(['a=a:2']);
    expect(cs[0]!.volumeMounts.map((m) => m.mountPath)).toEqual(['/v', '/w']);
    expect(o.metadata.generation).toBe(2);
  });
});

describe('storage protection', () => {
  it('a deleted claim stays while a scheduled pod mounts it, and goes once the pod is gone', async () => {
    await create(PVCS, pvc('used'));
    const pods = `/api/v1/namespaces/${NS}/pods`;
    await create(pods, {
      metadata: { name: 'user' },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'used' } }],
      },
    });
    await call(admin, 'DELETE', `${PVCS}/used`);
    await server.settled();
    const held = (await call(admin, 'GET', `${PVCS}/used`)).json() as Obj;
    expect(held.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    // A scheduled pod is deleted gracefully: marked first, removed by the kubelet's grace-0 delete.
    const marked = await call(admin, 'DELETE', `${pods}/user`);
    expect((marked.json() as Obj).metadata.deletionTimestamp).toBeDefined();
    expect((await call(admin, 'GET', `${pods}/user`)).status).toBe(200);
    await call(admin, 'DELETE', `${pods}/user`, { gracePeriodSeconds: 0 });
    await server.settled();
    expect((await call(admin, 'GET', `${pods}/user`)).status).toBe(404);
    expect((await call(admin, 'GET', `${PVCS}/used`)).status).toBe(404);
  });
});

describe('concurrent writes', () => {
  it('patches racing through a slow admission chain both land; racing PUTs with one resourceVersion: one 409', async () => {
    const slow = await startApiServer({
      admission: {
        mutate: async (a) => {
          await new Promise((r) => setTimeout(r, 20));
          return { object: a.object, warnings: [] };
        },
        validate: () => Promise.resolve({ warnings: [] }),
      },
    });
    try {
      const c = { url: slow.url, caPem: slow.caPem, token: slow.token };
      const path = '/api/v1/namespaces/default/configmaps';
      await call(c, 'POST', path, { metadata: { name: 'race' } });
      const results = await Promise.all(
        ['a', 'b', 'c'].map((k) =>
          call(c, 'PATCH', `${path}/race`, { metadata: { labels: { [k]: 'x' } } }, MERGE),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      const got = (await call(c, 'GET', `${path}/race`)).json() as Obj;
      expect(got.metadata.labels).toEqual({ a: 'x', b: 'x', c: 'x' });
      const puts = await Promise.all(
        ['1', '2'].map((v) => call(c, 'PUT', `${path}/race`, { ...got, data: { v } })),
      );
      expect(puts.map((r) => r.status).sort()).toEqual([200, 409]);
    } finally {
      await slow.stop();
    }
  });
});

describe('pod logs', () => {
  it('GET pods/NAME/log answers the podLogs hook as text', async () => {
    const logged = await startApiServer({
      podLogs: (ns, pod, container) => Promise.resolve(`${ns}/${pod}/${container ?? '-'}: hello\n`),
    });
    try {
      const c = { url: logged.url, caPem: logged.caPem, token: logged.token };
      await call(c, 'POST', '/api/v1/namespaces/default/pods', {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      });
      const r = await call(c, 'GET', '/api/v1/namespaces/default/pods/p/log?container=c');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe('default/p/c: hello\n');
      expect((await call(c, 'GET', '/api/v1/namespaces/default/pods/q/log')).status).toBe(404);
    } finally {
      await logged.stop();
    }
  });
});

describe('tables', () => {
  it('kubectl get asks for a Table: columns per kind, AGE, rows with PartialObjectMetadata', async () => {
    const accept =
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    const r = await call(admin, 'GET', `${PVCS}?limit=500`, undefined, { Accept: accept });
    const t = r.json() as {
      kind: string;
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[] }[];
    };
    expect(t.kind).toBe('Table');
    const want = fixture<{ exchanges: { response: { body: { columnDefinitions: unknown[] } } }[] }>(
      'client/get-pvc-watch.json',
    );
    expect(t.columnDefinitions).toEqual(want.exchanges[0]!.response.body.columnDefinitions);
    expect(t.rows.length).toBeGreaterThan(0);
    expect(String(t.rows[0]!.cells[6])).toMatch(/^\d+s$/);
    const single = (
      await call(admin, 'GET', `${PVCS}/st`, undefined, { Accept: accept })
    ).json() as typeof t;
    expect(single.rows).toHaveLength(1);
    expect(single.rows[0]!.cells[1]).toBe('Bound');
  });
});

describe('authorization and policy', () => {
  const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
  const review = (verb: string) => ({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb, resource: 'secrets', namespace: NS } },
  });
  const allowedFor = async (c: Conn, verb: string) => {
    const r = await call(c, 'POST', SSAR, review(verb));
    expect(r.status, r.text).toBe(201);
    return (r.json() as { status: { allowed: boolean } }).status.allowed;
  };

  it('SelfSubjectAccessReview answers what the authorizer decides for the asking token', async () => {
    const viewer = { ...admin, token: server.readOnlyToken };
    expect(await allowedFor(admin, 'create')).toBe(true);
    expect(await allowedFor(viewer, 'list')).toBe(true);
    expect(await allowedFor(viewer, 'create')).toBe(false);
    // The review agrees with what the server then does.
    const denied = await call(viewer, 'POST', `/api/v1/namespaces/${NS}/secrets`, {
      metadata: { name: 'x' },
    });
    expect(denied.status).toBe(403);
    const anonymous = await call(
      { url: admin.url, caPem: admin.caPem },
      'POST',
      SSAR,
      review('get'),
    );
    expect(anonymous.status).toBe(403);
  });

  it('SubjectAccessReview answers for another user from the authorizer and the stored RBAC; only who may create reviews may ask', async () => {
    const SAR = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    const ask = async (user: string, groups: string[], namespace = NS, verb = 'create') => {
      const r = await call(admin, 'POST', SAR, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups,
          resourceAttributes: { namespace, verb, resource: 'pods', subresource: 'exec' },
        },
      });
      expect(r.status, r.text).toBe(201);
      return (r.json() as { status: { allowed: boolean } }).status.allowed;
    };
    await create(`${rbac}/namespaces/${NS}/roles`, {
      metadata: { name: 'exec' },
      rules: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] }],
    });
    await create(`${rbac}/namespaces/${NS}/rolebindings`, {
      metadata: { name: 'exec' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'Group', name: 'operators' },
        { kind: 'ServiceAccount', name: 'runner' },
      ],
    });
    expect(await ask('root', ['system:masters'])).toBe(true);
    expect(await ask('alice', ['system:authenticated'])).toBe(true);
    expect(await ask('carol', ['operators'])).toBe(true);
    expect(await ask(`system:serviceaccount:${NS}:runner`, [])).toBe(true);
    expect(await ask('bob', ['system:authenticated'])).toBe(false);
    expect(await ask('bob', ['system:authenticated'], NS, 'get')).toBe(true); // read-only user
    expect(await ask('alice', ['system:authenticated'], 'default')).toBe(false);
    expect(await ask(`system:serviceaccount:default:runner`, [])).toBe(false);
    const viewer = { ...admin, token: server.readOnlyToken };
    const refused = await call(viewer, 'POST', SAR, { spec: { user: 'alice' } });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain(
      'cannot create resource \\"subjectaccessreviews\\" in API group \\"authorization.k8s.io\\"',
    );
    const nobody = await call(admin, 'POST', SAR, {
      spec: { resourceAttributes: { verb: 'get', resource: 'pods' } },
    });
    expect(nobody.status).toBe(422);
  });

  it('serves policy/v1 PodDisruptionBudgets', async () => {
    const pdb = await create(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
    });
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
    const groups = (await call(admin, 'GET', '/apis')).json() as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toContain('policy');
  });
});

describe('a cluster without some CRDs', () => {
  it('leaves an unserved group out of discovery and answers 404 below it', async () => {
    const bare = await startApiServer({ unservedGroups: ['snapshot.storage.k8s.io'] });
    try {
      const c = { url: bare.url, caPem: bare.caPem, token: bare.token };
      const apis = (await call(c, 'GET', '/apis')).json() as { groups: { name: string }[] };
      expect(apis.groups.map((g) => g.name)).not.toContain('snapshot.storage.k8s.io');
      expect(apis.groups.map((g) => g.name)).toContain('apps');
      for (const path of [
        '/apis/snapshot.storage.k8s.io',
        '/apis/snapshot.storage.k8s.io/v1',
        '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses',
      ]) {
        const r = await call(c, 'GET', path);
        expect(r.status, path).toBe(404);
        expect(r.text).toBe('404 page not found\n');
      }
      expect((await call(c, 'GET', '/apis/apps/v1')).status).toBe(200);
    } finally {
      await bare.stop();
    }
  });
});
