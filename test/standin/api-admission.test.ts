// The attributes the stand-in hands its admission chain, against the
// AdmissionReview requests a real kube-apiserver 1.24 sent its webhooks for
// the same operations (fixtures/kube-1.24/admission/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdmissionAttributes, AdmissionChain } from './api/admission-seam.ts';
import { startApiServer, type ApiServer } from './api/server.ts';
import { FIXTURES, call, fixture, type Conn } from './api/testing.ts';

interface Review {
  request: AdmissionAttributes & { uid: string };
}

const calls: { phase: 'mutate' | 'validate'; a: AdmissionAttributes }[] = [];
let warnings: string[] = [];
const recorder: AdmissionChain = {
  mutate: (a) => {
    calls.push({ phase: 'mutate', a: structuredClone(a) });
    return Promise.resolve({ object: a.object, warnings });
  },
  validate: (a) => {
    calls.push({ phase: 'validate', a: structuredClone(a) });
    return Promise.resolve({ warnings: [] });
  },
};

let server: ApiServer;
let admin: Conn;
const KUBECTL = { 'User-Agent': 'kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07' };

function input(name: string): Record<string, unknown> {
  return parseYaml(readFileSync(join(FIXTURES, 'inputs', name), 'utf8')) as Record<string, unknown>;
}

/** Blanks what differs between two runs: uids, times, resourceVersions, generated suffixes. */
function norm(v: unknown): unknown {
  const text = JSON.stringify(v ?? null)
    .replace(/"uid":"[0-9a-f-]{36}"/g, '"uid":"UID"')
    .replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/g, '"TIME"')
    .replace(/"resourceVersion":"\d+"/g, '"resourceVersion":"RV"')
    .replace(/kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}/g, 'kube-api-access-XXXXX')
    .replace(/"username":"[^"]*"/g, '"username":"USER"');
  return JSON.parse(text) as unknown;
}

function expectLike(got: AdmissionAttributes, fixtureFile: string): void {
  const want = fixture<Review>(`admission/${fixtureFile}`).request;
  expect(got.operation).toBe(want.operation);
  expect(got.kind).toEqual(want.kind);
  expect(got.resource).toEqual(want.resource);
  expect(got.name).toBe(want.name);
  expect(got.namespace).toBe(want.namespace);
  expect(got.subResource).toBe(want.subResource);
  expect(got.dryRun).toBe(want.dryRun);
  expect(got.options).toEqual(want.options);
  expect(norm(got.userInfo)).toEqual(norm(want.userInfo));
  expect(norm(got.object)).toEqual(norm(want.object));
  expect(norm(got.oldObject)).toEqual(norm(want.oldObject));
}

beforeAll(async () => {
  server = await startApiServer({ admission: recorder });
  admin = { url: server.url, caPem: server.caPem, token: server.token };
  for (const ns of ['scribe-fixtures'])
    await call(admin, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await server.settled();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  calls.length = 0;
  warnings = [];
});

const PVCS = '/api/v1/namespaces/scribe-fixtures/persistentvolumeclaims';
const PODS = '/api/v1/namespaces/scribe-fixtures/pods';

describe('admission attributes match the 1.24 AdmissionReviews', () => {
  it('PVC CREATE (kubectl create): defaults and finalizer before mutate; uid, time and status {} before validate', async () => {
    const r = await call(
      admin,
      'POST',
      `${PVCS}?fieldManager=kubectl-create&fieldValidation=Strict`,
      input('pvc-data-fs.yaml'),
      KUBECTL,
    );
    expect(r.status).toBe(201);
    expect(calls.map((c) => c.phase)).toEqual(['mutate', 'validate']);
    expectLike(
      calls[0]!.a,
      '0001-mutate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
    );
    expectLike(
      calls[1]!.a,
      '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json',
    );
    // The stored claim has its phase back.
    expect((r.json() as { status: unknown }).status).toEqual({ phase: 'Pending' });
  });

  it('PVC UPDATE from kubectl annotate (merge patch): UpdateOptions, old and new at the same resourceVersion', async () => {
    await call(
      admin,
      'POST',
      `${PVCS}?fieldManager=kubectl-create&fieldValidation=Strict`,
      input('pvc-scratch.yaml'),
      KUBECTL,
    );
    calls.length = 0;
    const patch = {
      metadata: {
        annotations: {
          'replication.example.io/enabled': 'true',
          'replication.example.io/method': 'rsync',
        },
      },
    };
    const r = await call(admin, 'PATCH', `${PVCS}/scratch?fieldManager=kubectl-annotate`, patch, {
      ...KUBECTL,
      'Content-Type': 'application/merge-patch+json',
    });
    expect(r.status).toBe(200);
    expectLike(
      calls[0]!.a,
      '0009-mutate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json',
    );
    expectLike(
      calls[1]!.a,
      '0010-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json',
    );
  });

  it('PVC DELETE: object null, DeleteOptions; then the pvc-protection controller removes the finalizer', async () => {
    // The capture labelled the claim (kubectl label) before deleting it.
    const label = { metadata: { labels: { tier: 'gold' } } };
    await call(admin, 'PATCH', `${PVCS}/scratch?fieldManager=kubectl-label`, label, {
      ...KUBECTL,
      'Content-Type': 'application/merge-patch+json',
    });
    calls.length = 0;
    const r = await call(
      admin,
      'DELETE',
      `${PVCS}/scratch`,
      { propagationPolicy: 'Background' },
      KUBECTL,
    );
    expect(r.status).toBe(200);
    const body = r.json() as {
      kind: string;
      metadata: { deletionTimestamp?: string; finalizers: string[] };
    };
    expect(body.kind).toBe('PersistentVolumeClaim');
    expect(body.metadata.deletionTimestamp).toBeDefined();
    // Then, as in the capture, the pvc-protection controller's UPDATE removes the finalizer.
    await server.settled();
    expect(calls.map((c) => `${c.phase}:${c.a.operation}`)).toEqual([
      'mutate:DELETE',
      'validate:DELETE',
      'mutate:UPDATE',
      'validate:UPDATE',
    ]);
    expectLike(
      calls[2]!.a,
      '0049-mutate-PersistentVolumeClaim-UPDATE--pvc-update-finalizer-removed-by-pvc-protection-controller.json',
    );
    expectLike(
      calls[3]!.a,
      '0050-validate-PersistentVolumeClaim-UPDATE--pvc-update-finalizer-removed-by-pvc-protection-controller.json',
    );
    expect((await call(admin, 'GET', `${PVCS}/scratch`)).status).toBe(404);
    const want = fixture<Review>(
      'admission/0047-mutate-PersistentVolumeClaim-DELETE--pvc-delete-kubectl.json',
    ).request;
    expect(calls[0]!.a.object).toBeNull();
    expect(calls[0]!.a.options).toEqual(want.options);
    expect(calls[0]!.a.oldObject?.metadata?.name).toBe('scratch');
    expect(calls[0]!.a.oldObject?.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('dry run: dryRun true, options.dryRun [All], a full answer and nothing stored', async () => {
    const r = await call(
      admin,
      'POST',
      `${PVCS}?dryRun=All&fieldManager=kubectl-create&fieldValidation=Strict`,
      input('pvc-dryrun.yaml'),
      KUBECTL,
    );
    expect(r.status).toBe(201);
    expectLike(
      calls[0]!.a,
      '0019-mutate-PersistentVolumeClaim-CREATE--pvc-create-dry-run-server.json',
    );
    expectLike(
      calls[1]!.a,
      '0020-validate-PersistentVolumeClaim-CREATE--pvc-create-dry-run-server.json',
    );
    const body = r.json() as { metadata: Record<string, unknown> };
    expect(body.metadata.uid).toBeDefined();
    expect(body.metadata.resourceVersion).toBeUndefined();
    expect((await call(admin, 'GET', `${PVCS}/dryrun-claim`)).status).toBe(404);
  });

  it('Pod CREATE: ServiceAccount volume and mounts, default tolerations and pod defaults; status Pending/BestEffort at validate', async () => {
    const r = await call(
      admin,
      'POST',
      `${PODS}?fieldManager=kubectl-create&fieldValidation=Strict`,
      input('pod-app-fs.yaml'),
      KUBECTL,
    );
    expect(r.status).toBe(201);
    expectLike(calls[0]!.a, '0021-mutate-Pod-CREATE--pod-create-volumemounts.json');
    expectLike(calls[1]!.a, '0022-validate-Pod-CREATE--pod-create-volumemounts.json');
  });

  it('Pod CREATE with an init container', async () => {
    const r = await call(
      admin,
      'POST',
      `${PODS}?fieldManager=kubectl-create&fieldValidation=Strict`,
      input('pod-app-init.yaml'),
      KUBECTL,
    );
    expect(r.status).toBe(201);
    expectLike(calls[0]!.a, '0023-mutate-Pod-CREATE--pod-create-existing-initcontainer.json');
    expectLike(calls[1]!.a, '0024-validate-Pod-CREATE--pod-create-existing-initcontainer.json');
  });

  it('generateName: no name while mutating, the generated name (5 chars of the real alphabet) while validating', async () => {
    const want = fixture<Review>(
      'admission/0033-mutate-Pod-CREATE--pod-create-by-replicaset-generatename.json',
    ).request;
    const spec = want.object!.spec as {
      containers: { name: string; image: string; ports?: unknown }[];
    };
    const body = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'web-6678464bfb-', labels: want.object!.metadata!.labels },
      spec: {
        containers: spec.containers.map((c) => ({ name: c.name, image: c.image, ports: c.ports })),
      },
    };
    const r = await call(admin, 'POST', PODS, body, {
      'User-Agent': 'kube-controller-manager/v1.24.0 (linux/amd64) kubernetes/4ce5a89',
    });
    expect(r.status).toBe(201);
    const [mutating, validating] = calls.map((c) => c.a);
    expect(mutating!.name).toBeUndefined();
    expect(mutating!.object!.metadata!.name).toBeUndefined();
    expect(mutating!.object!.metadata!.uid).toBeUndefined();
    expect(mutating!.object!.metadata!.creationTimestamp).toBeNull();
    expect(validating!.name).toMatch(/^web-6678464bfb-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(validating!.object!.metadata!.name).toBe(validating!.name);
    expect(validating!.object!.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(mutating!.options).toEqual(want.options);
  });

  it('Pod DELETE of an unscheduled pod: two rounds, the second with deletionTimestamp and grace 0', async () => {
    const r = await call(
      admin,
      'DELETE',
      `${PODS}/app-fs`,
      { propagationPolicy: 'Background' },
      KUBECTL,
    );
    expect(r.status).toBe(200);
    expect(calls.map((c) => `${c.phase}:${c.a.operation}`)).toEqual([
      'mutate:DELETE',
      'validate:DELETE',
      'mutate:DELETE',
      'validate:DELETE',
    ]);
    const first = fixture<Review>(
      'admission/0039-mutate-Pod-DELETE--pod-delete-kubectl.json',
    ).request;
    const second = fixture<Review>(
      'admission/0041-mutate-Pod-DELETE--pod-delete-kubectl.json',
    ).request;
    expect(calls[0]!.a.options).toEqual(first.options);
    expect(calls[0]!.a.oldObject!.metadata!.deletionTimestamp).toBeUndefined();
    expect(calls[2]!.a.oldObject!.metadata!.deletionGracePeriodSeconds).toBe(
      second.oldObject!.metadata!.deletionGracePeriodSeconds,
    );
    expect(calls[2]!.a.oldObject!.metadata!.deletionTimestamp).toBeDefined();
    expect((await call(admin, 'GET', `${PODS}/app-fs`)).status).toBe(404);
  });

  it('server-side apply that creates: CREATE with CreateOptions and an Apply managedFields entry', async () => {
    const r = await call(
      admin,
      'PATCH',
      `${PVCS}/ssa?fieldManager=kubectl&fieldValidation=Strict&force=false`,
      input('pvc-ssa.yaml'),
      {
        ...KUBECTL,
        'Content-Type': 'application/apply-patch+yaml',
      },
    );
    expect(r.status).toBe(201);
    expectLike(
      calls[0]!.a,
      '0063-mutate-PersistentVolumeClaim-CREATE--pvc-create-server-side-apply.json',
    );
    calls.length = 0;
    const again = await call(
      admin,
      'PATCH',
      `${PVCS}/ssa?fieldManager=kubectl&fieldValidation=Strict&force=false`,
      input('pvc-ssa-v2.yaml'),
      {
        ...KUBECTL,
        'Content-Type': 'application/apply-patch+yaml',
      },
    );
    expect(again.status).toBe(200);
    expectLike(
      calls[0]!.a,
      '0065-mutate-PersistentVolumeClaim-UPDATE--pvc-update-server-side-apply.json',
    );
  });

  it('warnings from the chain come back as Warning: 299 headers', async () => {
    warnings = [
      'replication.example.io/schedule is ignored for method "live"',
      'second "quoted" warning',
    ];
    const r = await call(
      admin,
      'PATCH',
      `${PVCS}/data-fs`,
      { metadata: { labels: { w: '1' } } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    expect(r.status).toBe(200);
    const h = r.headers.warning;
    expect(h).toBe(
      '299 - "replication.example.io/schedule is ignored for method \\"live\\"", 299 - "second \\"quoted\\" warning"',
    );
  });
});
