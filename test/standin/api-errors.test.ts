// Error answers of the stand-in against the bodies a real kube-apiserver 1.24
// gave for the same requests (fixtures/kube-1.24/errors/): byte for byte where
// the server's text is deterministic, field by field where it embeds a Go diff.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type AdmissionChain } from './api/admission-seam.ts';
import { startApiServer, type ApiServer } from './api/server.ts';
import { call, fixture, type Conn } from './api/testing.ts';

interface ErrorFixture {
  request: {
    method: string;
    path: string;
    rawQuery: string;
    headers: Record<string, string>;
    body: unknown;
  };
  response: {
    status: number;
    headers: Record<string, string>;
    body: Record<string, unknown>;
    rawBody: string;
  };
}

const PVCS = '/api/v1/namespaces/scribe-errors/persistentvolumeclaims';
const DUP = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'dup' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};

// The validating webhook of the fixture capture, as an admission chain: denies with the webhook's Status.
const denyingChain: AdmissionChain = {
  mutate: (a) => {
    if (a.name === 'webhook-down') {
      // A chain failing with a plain error (no Status): the server answers 500 InternalError.
      const cause = fixture<ErrorFixture>('errors/500-webhook-unreachable-failurepolicy-fail.json')
        .response.body.details as { causes: { message: string }[] };
      return Promise.reject(new Error(cause.causes[0]!.message));
    }
    return Promise.resolve({ object: a.object, warnings: [] });
  },
  validate: (a) => {
    const ann = a.object?.metadata?.annotations ?? {};
    if (ann['fixtures.example.io/deny'] === 'true') {
      const body = fixture<ErrorFixture>('errors/403-webhook-denied.json').response.body;
      return Promise.reject(new ApiError(body as never));
    }
    return Promise.resolve({ warnings: [] });
  },
};

let server: ApiServer;
let admin: Conn;

async function replay(
  name: string,
  c: Conn = admin,
): Promise<{ got: string; want: string; status: number }> {
  const f = fixture<ErrorFixture>(`errors/${name}`);
  const path = f.request.rawQuery ? `${f.request.path}?${f.request.rawQuery}` : f.request.path;
  const headers: Record<string, string> = {};
  if (f.request.headers['Content-Type'])
    headers['Content-Type'] = f.request.headers['Content-Type'];
  const body = f.request.body === null ? undefined : f.request.body;
  const r = await call(c, f.request.method, path, body, headers);
  expect(r.status).toBe(f.response.status);
  expect(r.headers['content-type']).toBe(f.response.headers['content-type']);
  return { got: r.text, want: f.response.rawBody, status: r.status };
}

beforeAll(async () => {
  server = await startApiServer({ admission: denyingChain, watchHistory: 20 });
  admin = { url: server.url, caPem: server.caPem, token: server.token };
  for (const ns of ['scribe-errors', 'scribe-fixtures']) {
    expect(
      (await call(admin, 'POST', '/api/v1/namespaces', { metadata: { name: ns } })).status,
    ).toBe(201);
  }
  expect((await call(admin, 'POST', PVCS, DUP)).status).toBe(201);
  // Push the first events out of the watch window (20 events).
  for (let i = 0; i < 25; i++) {
    await call(
      admin,
      'PATCH',
      `${PVCS}/dup`,
      { metadata: { labels: { round: String(i) } } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
  }
  await call(
    admin,
    'PATCH',
    `${PVCS}/dup`,
    { metadata: { labels: null } },
    {
      'Content-Type': 'application/merge-patch+json',
    },
  );
});

afterAll(async () => {
  await server.stop();
});

describe('error bodies equal kube-apiserver 1.24 bytes', () => {
  for (const name of [
    '404-get-missing-pvc.json',
    '409-already-exists.json',
    '415-patch-content-type-application-json.json',
    '400-merge-body-as-json-patch.json',
    '422-json-patch-add-missing-parent.json',
    '422-json-patch-body-as-merge-patch.json',
    '422-invalid-annotation-key.json',
    '422-invalid-accessmode.json',
    '410-list-exact-rv-compacted.json',
    '403-webhook-denied.json',
    '500-webhook-unreachable-failurepolicy-fail.json',
  ]) {
    it(name, async () => {
      const { got, want } = await replay(name);
      expect(got).toBe(want);
    });
  }

  it('422-json-patch-test-failed.json', async () => {
    await call(
      admin,
      'PATCH',
      `${PVCS}/dup`,
      { metadata: { annotations: { 'replication.example.io/enabled': 'true' } } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    const { got, want } = await replay('422-json-patch-test-failed.json');
    expect(got).toBe(want);
  });

  it('409-conflict-stale-resourceversion.json: a PUT carrying an old resourceVersion', async () => {
    const live = (await call(admin, 'GET', `${PVCS}/dup`)).json() as typeof DUP & {
      metadata: Record<string, unknown>;
    };
    const stale = {
      ...live,
      metadata: {
        ...live.metadata,
        resourceVersion: String(Number(live.metadata.resourceVersion) - 1),
      },
    };
    const r = await call(admin, 'PUT', `${PVCS}/dup`, stale);
    expect(r.status).toBe(409);
    expect(r.text).toBe(
      fixture<ErrorFixture>('errors/409-conflict-stale-resourceversion.json').response.rawBody,
    );
    // The same PUT with the current resourceVersion goes through.
    const ok = await call(admin, 'PUT', `${PVCS}/dup`, live);
    expect(ok.status).toBe(200);
  });

  it('401-invalid-bearer-token.json', async () => {
    const { got, want } = await replay('401-invalid-bearer-token.json', {
      ...admin,
      token: 'not-a-token',
    });
    expect(got).toBe(want);
  });

  it('403-anonymous-no-client-cert.json', async () => {
    const { got, want } = await replay('403-anonymous-no-client-cert.json', {
      url: admin.url,
      caPem: admin.caPem,
    });
    expect(got).toBe(want);
  });

  it('403-rbac-forbidden(-patch).json for the read-only token (user "viewer" where the capture had "jane")', async () => {
    const viewer = { ...admin, token: server.readOnlyToken };
    for (const name of ['403-rbac-forbidden-patch.json', '403-rbac-forbidden.json']) {
      const f = fixture<ErrorFixture>(`errors/${name}`);
      if (f.request.method === 'GET') {
        // Reads are allowed for the viewer; check the wording with a write of the same resource instead.
        const r = await call(viewer, 'DELETE', f.request.path);
        expect(r.status).toBe(403);
        expect(r.text).toBe(
          f.response.rawBody.replace('jane', 'viewer').replace('cannot get', 'cannot delete'),
        );
        expect((await call(viewer, 'GET', f.request.path)).status).toBe(200);
      } else {
        const { got, want } = await replay(name, viewer);
        expect(got).toBe(want.replace('jane', 'viewer'));
      }
    }
  });

  it('409-ssa-field-manager-conflict.json: apply of a field another manager applied', async () => {
    const owned = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'ssa-owned', annotations: { 'replication.example.io/method': 'snapshot' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
    const created = await call(
      admin,
      'PATCH',
      `${PVCS}/ssa-owned?fieldManager=kubectl&fieldValidation=Strict&force=false`,
      owned,
      {
        'Content-Type': 'application/apply-patch+yaml',
      },
    );
    expect(created.status).toBe(201);
    const { got, want } = await replay('409-ssa-field-manager-conflict.json');
    expect(got).toBe(want);
    // force=true takes the field over.
    const f = fixture<ErrorFixture>('errors/409-ssa-field-manager-conflict.json');
    const forced = await call(
      admin,
      'PATCH',
      `${f.request.path}?fieldManager=scribe&force=true`,
      f.request.body as string,
      {
        'Content-Type': 'application/apply-patch+yaml',
      },
    );
    expect(forced.status).toBe(200);
    const obj = forced.json() as {
      metadata: {
        annotations: Record<string, string>;
        managedFields: { manager: string; fieldsV1: object }[];
      };
    };
    expect(obj.metadata.annotations['replication.example.io/method']).toBe('rsync');
    const kubectl = obj.metadata.managedFields.find((m) => m.manager === 'kubectl')!;
    expect(JSON.stringify(kubectl.fieldsV1)).not.toContain('replication.example.io/method');
    expect(
      JSON.stringify(obj.metadata.managedFields.find((m) => m.manager === 'scribe')!.fieldsV1),
    ).toContain('replication.example.io/method');
  });

  it('410-list-continue-token-compacted.json: a continue token older than the history window', async () => {
    const f = fixture<ErrorFixture>('errors/410-list-continue-token-compacted.json');
    const page = (await call(admin, 'GET', `${PVCS}?limit=1`)).json() as {
      metadata: { continue: string };
      items: { metadata: { name: string } }[];
    };
    expect(page.items.map((i) => i.metadata.name)).toEqual(['dup']);
    // The token has the apiserver's shape: {"v":"meta.k8s.io/v1","rv":N,"start":"dup\u0000"}.
    expect(JSON.parse(Buffer.from(page.metadata.continue, 'base64url').toString())).toMatchObject({
      v: 'meta.k8s.io/v1',
      start: 'dup\u0000',
    });
    for (let i = 0; i < 21; i++)
      await call(admin, 'POST', '/api/v1/namespaces/scribe-fixtures/configmaps', {
        metadata: { name: `filler-${i}` },
      });
    const r = await call(admin, 'GET', `${PVCS}?limit=1&continue=${page.metadata.continue}`);
    expect(r.status).toBe(410);
    expect(r.text).toBe(f.response.rawBody);
  });

  it('404-api-group-not-installed.json: an unserved group is a plain-text 404', async () => {
    const f = fixture<ErrorFixture>('errors/404-api-group-not-installed.json');
    const r = await call(admin, 'GET', '/apis/example.io/v1');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe(f.response.headers['content-type']);
    expect(r.text).toBe(f.response.rawBody);
  });

  it('410-watch-too-old-rv-1.json: HTTP 200, then one ERROR event with a 410 Status', async () => {
    const f = fixture<ErrorFixture>('errors/410-watch-too-old-rv-1.json');
    const r = await call(admin, 'GET', `${f.request.path}?${f.request.rawQuery}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['transfer-encoding']).toBe('chunked');
    const oldest = /\((\d+)\)/.exec(r.text)![1]!;
    expect(Number(oldest)).toBeGreaterThan(1);
    expect(r.text).toBe(f.response.rawBody.replace('(388)', `(${oldest})`));
  });
});

describe('error bodies with a Go diff: same reason, causes and first line', () => {
  for (const name of [
    '422-immutable-accessmodes-put.json',
    '422-immutable-volumemode-merge-patch.json',
  ]) {
    it(name, async () => {
      const f = fixture<ErrorFixture>(`errors/${name}`);
      let body = f.request.body;
      if (f.request.method === 'PUT') {
        const live = (await call(admin, 'GET', `${PVCS}/dup`)).json() as {
          spec: Record<string, unknown>;
        };
        body = { ...live, spec: { ...live.spec, accessModes: ['ReadWriteMany'] } };
      }
      const r = await call(admin, f.request.method, f.request.path, body, {
        'Content-Type': f.request.headers['Content-Type']!,
      });
      expect(r.status).toBe(422);
      const got = r.json() as Record<string, unknown> & {
        message: string;
        details: { causes: { field: string; reason: string; message: string }[] };
      };
      const want = f.response.body as typeof got;
      expect(Object.keys(got)).toEqual(Object.keys(want));
      expect(got.reason).toBe(want.reason);
      expect(got.message.split('\n')[0]).toBe(want.message.split('\n')[0]);
      expect(got.details.causes.map((c) => [c.reason, c.field, c.message.split('\n')[0]])).toEqual(
        want.details.causes.map((c) => [c.reason, c.field, c.message.split('\n')[0]]),
      );
      // The diff names the field that changed.
      expect(got.message).toContain(name.includes('accessmodes') ? 'AccessModes' : 'VolumeMode');
    });
  }
});
