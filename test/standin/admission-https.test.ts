// The admission chain end to end: real HTTPS webhook servers (a test CA,
// node-forge certificates) called the way kube-apiserver v1.24 calls them,
// and the answers turned into what the captured server answered.
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AdmissionError,
  createAdmissionChain,
  type AdmissionDeps,
  type AdmissionLogEntry,
} from './admission/index.ts';
import type { AdmissionReviewRequest } from './admission/review.ts';
import type { AdmissionAttributes, KubeObject } from './admission/seam.ts';
import { admissionFixtures, attributesFromReview, fixture } from './admission/test-fixtures.ts';
import { createTestCa, type TestCa } from './admission/test-pki.ts';
import {
  allow,
  closedPort,
  patch,
  startWebhookServer,
  type Answer,
  type RecordedRequest,
  type TestWebhookServer,
} from './admission/test-webhook-server.ts';

type ErrorFixture = { response: { rawBody: string } };
type WebhookAnswerFixture = { webhookResponse: { response: Record<string, unknown> } };

const storedMutating = fixture<V1MutatingWebhookConfiguration>(
  'webhook/mutatingwebhookconfiguration.stored.json',
);
const storedValidating = fixture<V1ValidatingWebhookConfiguration>(
  'webhook/validatingwebhookconfiguration.stored.json',
);
const review = (file: string) => fixture<AdmissionReviewRequest>(`admission/${file}`);
const attrs = (file: string) => attributesFromReview(review(file));
const PVC_CREATE = '0005-mutate-PersistentVolumeClaim-CREATE--pvc-create-plain.json';
const rawBody = (file: string) => fixture<ErrorFixture>(`errors/${file}`).response.rawBody;

/** The fixture's webhook answer, re-addressed to this request's uid. */
function fixtureAnswer(file: string, r: AdmissionReviewRequest): Answer {
  const a = fixture<WebhookAnswerFixture>(`webhook/${file}`).webhookResponse;
  return { body: { ...a, response: { ...a.response, uid: r.request.uid } } };
}

function labelPatch(r: AdmissionReviewRequest, key: string): Answer {
  const labels = (r.request.object?.metadata?.labels ?? undefined) as
    Record<string, string> | undefined;
  if (labels?.[key]) return allow(r);
  return patch(
    r,
    labels
      ? [{ op: 'add', path: `/metadata/labels/${key}`, value: 'yes' }]
      : [{ op: 'add', path: '/metadata/labels', value: { [key]: 'yes' } }],
  );
}

const handlers: Record<string, (r: AdmissionReviewRequest) => Answer> = {
  '/mutate': (r) => allow(r),
  '/validate': (r) => allow(r),
  '/deny': (r) => fixtureAnswer('denial.json', r),
  '/sidecar': (r) => fixtureAnswer('native-sidecar-injection.json', r),
  '/bad-patch': (r) => fixtureAnswer('bad-patch.json', r),
  '/wrong-uid': (r) => ({
    body: { ...allow(r).body!, response: { uid: 'not-the-uid', allowed: true } },
  }),
  '/no-kind': (r) => ({ body: { response: { uid: r.request.uid, allowed: true } } }),
  '/slow': (r) => ({ ...allow(r), delayMs: 3000 }),
  '/label-a': (r) => labelPatch(r, 'a'),
  '/label-b': (r) => labelPatch(r, 'b'),
  '/warn': (r) => allow(r, { warnings: ['first warning', 'second warning', 'first warning'] }),
  '/deny-warn': (r) => ({
    body: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: r.request.uid,
        allowed: false,
        warnings: ['told you'],
        status: { message: 'no' },
      },
    },
  }),
  '/validating-patch': (r) => patch(r, [{ op: 'add', path: '/metadata/labels', value: {} }]),
  '/http-500': () => ({ status: 500, body: 'boom', headers: { 'Content-Type': 'text/plain' } }),
  '/merge-patch': (r) =>
    allow(r, {
      patchType: 'MergePatch',
      patch: Buffer.from('[{"op":"add","path":"/metadata/labels","value":{}}]').toString('base64'),
    }),
  '/empty-patch-type': (r) =>
    allow(r, { patchType: '', patch: Buffer.from('[]').toString('base64') }),
  '/gzip': (r) => ({
    body: gzipSync(JSON.stringify(labelPatch(r, 'zipped').body)),
    headers: { 'Content-Encoding': 'gzip' },
  }),
  '/not-json': () => ({ body: 'ok' }),
  '/huge': (r) => allow(r, { warnings: ['x'.repeat(4 * 1024 * 1024)] }),
  '/v1beta1': (r) =>
    r.apiVersion === 'admission.k8s.io/v1beta1'
      ? {
          body: {
            response: {
              allowed: true,
              patch: Buffer.from(
                JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { beta: 'yes' } }]),
              ).toString('base64'),
            },
          },
        }
      : { status: 400, body: 'expected v1beta1' },
};

let ca: TestCa;
let server: TestWebhookServer; // cert for IP 127.0.0.1
let svcServer: TestWebhookServer; // cert for webhook.scribe-system.svc only
const requestsTo = (path: string, s: TestWebhookServer = server): RecordedRequest[] =>
  s.requests.filter((r) => r.url.split('?')[0] === path);

beforeAll(async () => {
  ca = createTestCa();
  const handle = (body: AdmissionReviewRequest, req: RecordedRequest) => {
    const h = handlers[req.url.split('?')[0]!];
    return h
      ? h(body)
      : { status: 404, body: '404 page not found', headers: { 'Content-Type': 'text/plain' } };
  };
  server = await startWebhookServer(ca.issue(['127.0.0.1']), handle);
  svcServer = await startWebhookServer(ca.issue(['webhook.scribe-system.svc']), handle);
});

afterAll(async () => {
  await server?.close();
  await svcServer?.close();
});

beforeEach(() => {
  server.requests.length = 0;
  svcServer.requests.length = 0;
});

// ---- an in-memory "store" behind the deps ----

const namespaces: Record<string, V1Namespace> = {
  'scribe-fixtures': { metadata: { name: 'scribe-fixtures', labels: { fixtures: 'yes' } } },
  'scribe-errors': { metadata: { name: 'scribe-errors' } },
};

interface Setup {
  mutating?: V1MutatingWebhookConfiguration[];
  validating?: V1ValidatingWebhookConfiguration[];
  normalize?: AdmissionDeps['normalize'];
}

function chain(s: Setup) {
  const log: AdmissionLogEntry[] = [];
  const c = createAdmissionChain({
    webhookConfigurations: async () => ({
      mutating: s.mutating ?? [],
      validating: s.validating ?? [],
    }),
    namespace: async (name) => namespaces[name],
    resolveService: async (ref) => {
      if (ref.namespace === 'scribe-system') return { host: '127.0.0.1', port: svcServer.port };
      throw new Error(`service "${ref.name}" not found`);
    },
    normalize: s.normalize,
    log: (e) => log.push(e),
  });
  return Object.assign(c, { log });
}

/** A webhook like the captured one (pods and PVCs, namespaceSelector fixtures=yes, Fail, 5s). */
function hook<H extends V1MutatingWebhook | V1ValidatingWebhook>(
  base: H,
  name: string,
  path: string,
  over: Partial<V1MutatingWebhook> = {},
): H {
  return {
    ...base,
    name,
    clientConfig: { url: `https://127.0.0.1:${server.port}${path}`, caBundle: ca.caBundle },
    ...over,
  };
}

type HookSpec = [name: string, path: string, over?: Partial<V1MutatingWebhook>];

const mutating = (configName: string, ...hooks: HookSpec[]) =>
  ({
    ...storedMutating,
    metadata: { name: configName },
    webhooks: hooks.map((h) => hook(storedMutating.webhooks![0]!, ...h)),
  }) as V1MutatingWebhookConfiguration;

const validating = (configName: string, ...hooks: HookSpec[]) =>
  ({
    ...storedValidating,
    metadata: { name: configName },
    webhooks: hooks.map((h) => hook(storedValidating.webhooks![0]!, ...h)),
  }) as V1ValidatingWebhookConfiguration;

async function failure(p: Promise<unknown>): Promise<AdmissionError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AdmissionError);
    return e as AdmissionError;
  }
  throw new Error('expected the admission chain to reject the request');
}

const wire = (e: AdmissionError) => JSON.stringify(e.status) + '\n';

describe('what the webhook receives', () => {
  it('every captured request arrives as the captured AdmissionReview (modulo uid), with the captured headers', async () => {
    const c = chain({
      mutating: [mutating('capture', ['mutating.capture.fixtures.example.io', '/mutate'])],
      validating: [validating('capture', ['validating.capture.fixtures.example.io', '/validate'])],
    });
    const headerFixture = fixture<{ requests: { url: string; headers: Record<string, string> }[] }>(
      'webhook/apiserver-request-to-webhook.json',
    );
    const files = admissionFixtures();
    for (const file of files) {
      server.requests.length = 0;
      const captured = review(file);
      const a = attributesFromReview(captured);
      const isMutate = file.includes('-mutate-');
      if (isMutate) await c.mutate(a);
      else await c.validate(a);
      expect(server.requests, file).toHaveLength(1);
      const got = server.requests[0]!;
      const sent = { ...captured, request: { ...captured.request, uid: got.body.request.uid } };
      expect(JSON.stringify(got.body), file).toBe(JSON.stringify(sent));

      const want = headerFixture.requests[isMutate ? 0 : 1]!;
      expect(got.url).toBe(want.url);
      expect(got.method).toBe('POST');
      const names = Object.keys(want.headers);
      expect(
        got.rawHeaders
          .filter((_, i) => i % 2 === 0)
          .map((h) => h.toLowerCase())
          .filter((h) => names.includes(h)),
      ).toEqual(names);
      for (const [k, v] of Object.entries(want.headers)) {
        if (k === 'host') expect(got.headers.host).toBe(`127.0.0.1:${server.port}`);
        else if (k === 'content-length') {
          expect(Number(got.headers[k])).toBe(Buffer.byteLength(JSON.stringify(got.body)));
        } else expect(got.headers[k], k).toBe(v);
      }
    }
    expect(files.length).toBe(55);
  });

  it('a request outside the selected namespace reaches nobody; a missing namespace is a 404', async () => {
    const c = chain({ mutating: [mutating('capture', ['m.example.io', '/mutate'])] });
    const a = attrs(PVC_CREATE);
    await c.mutate({ ...a, namespace: 'scribe-errors' });
    expect(server.requests).toHaveLength(0);
    const e = await failure(c.mutate({ ...a, namespace: 'ghost' }));
    expect(e.status).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "ghost" not found',
    });
  });
});

describe('answers', () => {
  it('a denial is the captured 403, byte for byte', async () => {
    const c = chain({
      validating: [validating('capture', ['validating.capture.fixtures.example.io', '/deny'])],
    });
    const a = attrs(
      '0078-validate-PersistentVolumeClaim-CREATE--pvc-create-denied-by-validating-webhook.json',
    );
    const e = await failure(c.validate(a));
    expect(e.code).toBe(403);
    expect(wire(e)).toBe(rawBody('403-webhook-denied.json'));
    expect(c.log).toMatchObject([{ phase: 'validating', outcome: 'denied' }]);
  });

  it('a patch is applied, normalised as the server decodes it, and the validating webhooks see the result', async () => {
    // v1.24's Container has no restartPolicy: decoding the patched pod drops it.
    const normalize = (o: KubeObject) => {
      const spec = (o as { spec?: { initContainers?: Record<string, unknown>[] } }).spec;
      for (const c of spec?.initContainers ?? []) delete c.restartPolicy;
      return o;
    };
    const c = chain({
      mutating: [mutating('capture', ['mutating.capture.fixtures.example.io', '/sidecar'])],
      validating: [validating('capture', ['validating.capture.fixtures.example.io', '/validate'])],
      normalize,
    });
    const a = attrs('0082-mutate-Pod-CREATE--pod-create-webhook-injected-native-sidecar.json');
    const { object, warnings } = await c.mutate(a);
    expect(warnings).toEqual([]);
    const init = (object as { spec: { initContainers: unknown[] } }).spec.initContainers;
    expect(init).toEqual([
      {
        name: 'scribe-mover',
        image: 'registry.example/scribe-mover:0.1',
        volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
      },
    ]);
    expect(a.object).not.toHaveProperty('spec.initContainers');
    await c.validate({ ...a, object });
    expect(requestsTo('/validate')[0]!.body.request.object).toEqual(object);
    expect(c.log.map((l) => l.outcome)).toEqual(['patched', 'allowed']);
  });

  it('a patch that does not apply is the captured 500, byte for byte, whatever the failurePolicy', async () => {
    for (const failurePolicy of ['Fail', 'Ignore']) {
      const c = chain({
        mutating: [
          mutating('capture', [
            'mutating.capture.fixtures.example.io',
            '/bad-patch',
            { failurePolicy },
          ]),
        ],
      });
      const e = await failure(
        c.mutate(attrs('0081-mutate-Pod-CREATE--pod-create-webhook-patch-does-not-apply.json')),
      );
      expect(wire(e)).toBe(rawBody('500-webhook-patch-does-not-apply.json'));
    }
  });

  it('an answer with another uid, or without apiVersion and kind, is a failed call', async () => {
    const c = chain({ mutating: [mutating('capture', ['m.example.io', '/wrong-uid'])] });
    const e = await failure(c.mutate(attrs(PVC_CREATE)));
    const sentUid = requestsTo('/wrong-uid')[0]!.body.request.uid;
    expect(e.status).toMatchObject({
      code: 500,
      reason: 'InternalError',
      message: `Internal error occurred: failed calling webhook "m.example.io": received invalid webhook response: expected response.uid="${sentUid}", got "not-the-uid"`,
    });
    const c2 = chain({ validating: [validating('v', ['v.example.io', '/no-kind'])] });
    const e2 = await failure(c2.validate(attrs(PVC_CREATE)));
    expect(e2.status.message).toBe(
      'Internal error occurred: failed calling webhook "v.example.io": received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind=',
    );
    // Failed calls obey failurePolicy Ignore.
    const c3 = chain({
      mutating: [mutating('capture', ['m.example.io', '/wrong-uid', { failurePolicy: 'Ignore' }])],
    });
    const a = attrs(PVC_CREATE);
    expect((await c3.mutate(a)).object).toBe(a.object);
    expect(c3.log).toMatchObject([{ outcome: 'failed-open' }]);
  });

  it('a validating webhook may not patch; a webhook answering 500 is a failed call', async () => {
    const c = chain({ validating: [validating('v', ['v.example.io', '/validating-patch'])] });
    const e = await failure(c.validate(attrs(PVC_CREATE)));
    expect(e.status.message).toBe(
      'Internal error occurred: failed calling webhook "v.example.io": received invalid webhook response: validating webhook may not return response.patch',
    );
    const c2 = chain({ validating: [validating('v', ['v.example.io', '/http-500'])] });
    const e2 = await failure(c2.validate(attrs(PVC_CREATE)));
    expect(e2.status.message).toBe(
      'Internal error occurred: failed calling webhook "v.example.io": failed to call webhook: an error on the server ("boom") has prevented the request from succeeding',
    );
  });

  it('warnings are collected from every answer, a denial included', async () => {
    const c = chain({
      mutating: [mutating('m', ['m.example.io', '/warn'])],
      validating: [validating('v', ['v1.example.io', '/warn'], ['v2.example.io', '/deny-warn'])],
    });
    const a = attrs(PVC_CREATE);
    expect((await c.mutate(a)).warnings).toEqual(['first warning', 'second warning']);
    const e = await failure(c.validate(a));
    expect(e.status).toMatchObject({
      code: 400,
      message: 'admission webhook "v2.example.io" denied the request: no',
    });
    expect([...e.warnings].sort()).toEqual(['first warning', 'second warning', 'told you']);
  });
});

describe('unreachable, slow and untrusted webhooks', () => {
  it('unreachable with failurePolicy Fail: the captured 500, byte for byte', async () => {
    const port = await closedPort();
    const c = chain({
      mutating: [
        mutating('capture', [
          'mutating.capture.fixtures.example.io',
          '/mutate',
          { clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: ca.caBundle } },
        ]),
      ],
    });
    const e = await failure(
      c.mutate(attrs('0021-mutate-Pod-CREATE--pod-create-volumemounts.json')),
    );
    expect(wire(e)).toBe(
      rawBody('500-webhook-unreachable-failurepolicy-fail.json').replaceAll('36901', String(port)),
    );
  });

  it('unreachable with failurePolicy Ignore: admitted unchanged, later webhooks still called', async () => {
    const port = await closedPort();
    const c = chain({
      mutating: [
        mutating(
          'capture',
          [
            'down.example.io',
            '/mutate',
            {
              failurePolicy: 'Ignore',
              clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: ca.caBundle },
            },
          ],
          ['up.example.io', '/label-a'],
        ),
      ],
    });
    const out = await c.mutate(attrs(PVC_CREATE));
    expect(out.object?.metadata?.labels).toEqual({ a: 'yes' });
    expect(c.log.map((l) => [l.webhook, l.outcome])).toEqual([
      ['down.example.io', 'failed-open'],
      ['up.example.io', 'patched'],
    ]);
    expect(c.log[0]!.error).toContain('connect: connection refused');
  });

  it('a webhook slower than timeoutSeconds is cut off at the deadline it was told (?timeout=1s)', async () => {
    const c = chain({
      validating: [validating('v', ['slow.example.io', '/slow', { timeoutSeconds: 1 }])],
    });
    const started = Date.now();
    const e = await failure(c.validate(attrs(PVC_CREATE)));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(950);
    // Well before the webhook's own answer at 3 s: the chain gave up, it was not answered.
    expect(took).toBeLessThan(2900);
    expect(requestsTo('/slow')[0]!.url).toBe('/slow?timeout=1s');
    expect(e.status.message).toBe(
      `Internal error occurred: failed calling webhook "slow.example.io": failed to call webhook: Post "https://127.0.0.1:${server.port}/slow?timeout=1s": context deadline exceeded`,
    );
  });

  it('a certificate from another CA, or without the name called, is refused', async () => {
    const other = createTestCa('someone-else');
    const c = chain({
      mutating: [
        mutating('m', [
          'm.example.io',
          '/mutate',
          {
            clientConfig: {
              url: `https://127.0.0.1:${server.port}/mutate`,
              caBundle: other.caBundle,
            },
          },
        ]),
      ],
    });
    const e = await failure(c.mutate(attrs(PVC_CREATE)));
    expect(e.status.message).toBe(
      `Internal error occurred: failed calling webhook "m.example.io": failed to call webhook: Post "https://127.0.0.1:${server.port}/mutate?timeout=5s": x509: certificate signed by unknown authority`,
    );
    expect(server.requests).toHaveLength(0);

    const c2 = chain({
      mutating: [
        mutating('m', [
          'm.example.io',
          '/mutate',
          {
            clientConfig: {
              url: `https://127.0.0.1:${svcServer.port}/mutate`,
              caBundle: ca.caBundle,
            },
          },
        ]),
      ],
    });
    const e2 = await failure(c2.mutate(attrs(PVC_CREATE)));
    expect(e2.status.message).toContain(
      "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs",
    );

    const c3 = chain({
      mutating: [
        mutating('m', [
          'm.example.io',
          '/mutate',
          {
            clientConfig: {
              url: 'https://127.0.0.1:1/',
              caBundle: Buffer.from('not a certificate').toString('base64'),
            },
          },
        ]),
      ],
    });
    const e3 = await failure(c3.mutate(attrs(PVC_CREATE)));
    expect(e3.status.message).toBe(
      'Internal error occurred: failed calling webhook "m.example.io": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block',
    );
    expect(svcServer.requests).toHaveLength(0);
  });

  it('a service reference is dialled at its local address and verified as NAME.NAMESPACE.svc', async () => {
    const svc = (name: string, namespace = 'scribe-system') =>
      mutating('m', [
        'svc.example.io',
        '/mutate',
        {
          clientConfig: {
            service: { namespace, name, path: '/mutate', port: 8443 },
            caBundle: ca.caBundle,
          },
        },
      ]);
    await chain({ mutating: [svc('webhook')] }).mutate(attrs(PVC_CREATE));
    const got = requestsTo('/mutate', svcServer);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers.host).toBe('webhook.scribe-system.svc:8443');
    expect(got[0]!.url).toBe('/mutate?timeout=5s');

    const e = await failure(chain({ mutating: [svc('other')] }).mutate(attrs(PVC_CREATE)));
    expect(e.status.message).toBe(
      'Internal error occurred: failed calling webhook "svc.example.io": failed to call webhook: Post "https://other.scribe-system.svc:8443/mutate?timeout=5s": x509: certificate is valid for webhook.scribe-system.svc, not other.scribe-system.svc',
    );
    const e2 = await failure(
      chain({ mutating: [svc('webhook', 'elsewhere')] }).mutate(attrs(PVC_CREATE)),
    );
    expect(e2.status.message).toBe(
      'Internal error occurred: failed calling webhook "svc.example.io": failed to call webhook: Post "https://webhook.elsewhere.svc:8443/mutate?timeout=5s": service "webhook" not found',
    );
    expect(requestsTo('/mutate', svcServer)).toHaveLength(1);
  });
});

describe('dry run', () => {
  const DRY = '0019-mutate-PersistentVolumeClaim-CREATE--pvc-create-dry-run-server.json';

  it('a webhook with sideEffects NoneOnDryRun is called with dryRun and the options', async () => {
    const c = chain({
      mutating: [mutating('capture', ['mutating.capture.fixtures.example.io', '/mutate'])],
    });
    await c.mutate(attrs(DRY));
    const r = requestsTo('/mutate')[0]!.body.request;
    expect(r.dryRun).toBe(true);
    expect(r.options).toEqual({
      kind: 'CreateOptions',
      apiVersion: 'meta.k8s.io/v1',
      dryRun: ['All'],
      fieldManager: 'kubectl-create',
      fieldValidation: 'Strict',
    });
  });

  it('a webhook with side effects is not called and the request is refused, whatever the failurePolicy', async () => {
    for (const failurePolicy of ['Fail', 'Ignore']) {
      for (const sideEffects of ['Some', 'Unknown']) {
        const c = chain({
          validating: [
            validating('v', ['effects.example.io', '/validate', { sideEffects, failurePolicy }]),
          ],
        });
        const e = await failure(c.validate(attrs(DRY)));
        expect(e.status).toEqual({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'admission webhook "effects.example.io" does not support dry run',
          reason: 'BadRequest',
          code: 400,
        });
        // The same webhook is called when it is not a dry run.
        await c.validate(attrs(PVC_CREATE));
      }
    }
    expect(requestsTo('/validate')).toHaveLength(4);
    expect(requestsTo('/validate').every((r) => r.body.request.dryRun === false)).toBe(true);
  });
});

describe('order and reinvocation', () => {
  const labels = (o: KubeObject | null) => o?.metadata?.labels;
  const paths = () => server.requests.map((r) => r.url.split('?')[0]);

  it('configurations by name, then webhooks in order, each seeing the previous patch', async () => {
    const c = chain({
      mutating: [
        mutating('z-last', ['z.example.io', '/label-b']),
        mutating('a-first', ['a.example.io', '/label-a'], ['a2.example.io', '/mutate']),
      ],
    });
    const { object } = await c.mutate(attrs(PVC_CREATE));
    expect(paths()).toEqual(['/label-a', '/mutate', '/label-b']);
    expect(requestsTo('/mutate')[0]!.body.request.object?.metadata?.labels).toEqual({ a: 'yes' });
    expect(labels(object)).toEqual({ a: 'yes', b: 'yes' });
  });

  it('IfNeeded: an earlier webhook runs once more when a later one changed the object', async () => {
    const run = async (reinvocationPolicy: string) => {
      server.requests.length = 0;
      const c = chain({
        mutating: [
          mutating('a-first', ['a.example.io', '/label-a', { reinvocationPolicy }]),
          mutating('b-second', ['b.example.io', '/label-b', { reinvocationPolicy }]),
        ],
      });
      const { object } = await c.mutate(attrs(PVC_CREATE));
      expect(labels(object)).toEqual({ a: 'yes', b: 'yes' });
      return c.log.map((l) => `${l.round}:${l.webhook}:${l.outcome}`);
    };
    expect(await run('IfNeeded')).toEqual([
      '0:a.example.io:patched',
      '0:b.example.io:patched',
      // b changed the object after a ran: a runs again and sees b's label; b is not re-run (nothing changed after it).
      '1:a.example.io:allowed',
    ]);
    expect(requestsTo('/label-a')[1]!.body.request.object?.metadata?.labels).toEqual({
      a: 'yes',
      b: 'yes',
    });
    expect(await run('Never')).toEqual(['0:a.example.io:patched', '0:b.example.io:patched']);
  });

  it('webhook configurations themselves never go through webhooks', async () => {
    const c = chain({
      mutating: [
        mutating('m', [
          'm.example.io',
          '/mutate',
          {
            rules: [
              {
                apiGroups: ['*'],
                apiVersions: ['*'],
                operations: ['*'],
                resources: ['*'],
                scope: '*',
              },
            ],
            namespaceSelector: {},
          },
        ]),
      ],
    });
    const a: AdmissionAttributes = {
      ...attrs(PVC_CREATE),
      kind: {
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        kind: 'MutatingWebhookConfiguration',
      },
      resource: {
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        resource: 'mutatingwebhookconfigurations',
      },
      namespace: undefined,
    };
    await c.mutate(a);
    await c.mutate({
      ...a,
      kind: { group: '', version: 'v1', kind: 'PersistentVolume' },
      resource: { group: '', version: 'v1', resource: 'persistentvolumes' },
    });
    expect(paths()).toEqual(['/mutate']);
  });
});

describe('less common answers', () => {
  it('a patch on DELETE, where there is no object, is refused', async () => {
    const c = chain({ mutating: [mutating('m', ['m.example.io', '/label-a'])] });
    const e = await failure(
      c.mutate(attrs('0047-mutate-PersistentVolumeClaim-DELETE--pvc-delete-kubectl.json')),
    );
    expect(e.status.message).toBe(
      'Internal error occurred: admission webhook "m.example.io" attempted to modify the object, which is not supported for this operation',
    );
  });

  it('a patch type other than JSONPatch is a failed call; an empty one an invalid answer', async () => {
    const e = await failure(
      chain({ mutating: [mutating('m', ['m.example.io', '/merge-patch'])] }).mutate(
        attrs(PVC_CREATE),
      ),
    );
    expect(e.status.message).toBe(
      'Internal error occurred: failed calling webhook "m.example.io": unsupported patch type "MergePatch"',
    );
    const ignored = chain({
      mutating: [mutating('m', ['m.example.io', '/merge-patch', { failurePolicy: 'Ignore' }])],
    });
    await expect(ignored.mutate(attrs(PVC_CREATE))).resolves.toBeTruthy();
    const e2 = await failure(
      chain({ mutating: [mutating('m', ['m.example.io', '/empty-patch-type'])] }).mutate(
        attrs(PVC_CREATE),
      ),
    );
    expect(e2.status.message).toBe(
      'Internal error occurred: failed calling webhook "m.example.io": received invalid webhook response: webhook returned invalid response.patchType of ""',
    );
  });

  it('a gzip-encoded answer is read, as Go reads it after asking for gzip', async () => {
    const { object } = await chain({ mutating: [mutating('m', ['m.example.io', '/gzip'])] }).mutate(
      attrs(PVC_CREATE),
    );
    expect(object?.metadata?.labels).toEqual({ zipped: 'yes' });
  });

  it('an answer over the size limit is a failed call', async () => {
    const e = await failure(
      chain({ validating: [validating('v', ['v.example.io', '/huge'])] }).validate(
        attrs(PVC_CREATE),
      ),
    );
    expect(e.status.message).toBe(
      `Internal error occurred: failed calling webhook "v.example.io": failed to call webhook: Post "https://127.0.0.1:${server.port}/huge?timeout=5s": webhook response larger than 3145728 bytes`,
    );
  });

  it('a webhook that lists v1beta1 first gets a v1beta1 review, and its answer is not checked for uid or kind', async () => {
    const c = chain({
      mutating: [
        mutating('m', ['m.example.io', '/v1beta1', { admissionReviewVersions: ['v1beta1', 'v1'] }]),
      ],
    });
    const { object } = await c.mutate(attrs(PVC_CREATE));
    expect(object?.metadata?.labels).toEqual({ beta: 'yes' });
    expect(requestsTo('/v1beta1')[0]!.body.apiVersion).toBe('admission.k8s.io/v1beta1');
    const none = chain({
      mutating: [mutating('m', ['m.example.io', '/mutate', { admissionReviewVersions: ['v2'] }])],
    });
    const e = await failure(none.mutate(attrs(PVC_CREATE)));
    expect(e.status.message).toBe(
      'Internal error occurred: failed calling webhook "m.example.io": could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    );
  });
});

describe('selection against the store', () => {
  it('every namespace carries kubernetes.io/metadata.name, even when the stored object lacks it', async () => {
    const c = chain({
      mutating: [
        mutating('m', [
          'm.example.io',
          '/mutate',
          {
            namespaceSelector: {
              matchExpressions: [
                { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['scribe-errors'] },
              ],
            },
          },
        ]),
      ],
    });
    expect(namespaces['scribe-errors']!.metadata!.labels).toBeUndefined();
    const a = attrs(PVC_CREATE);
    await c.mutate(a);
    expect(server.requests).toHaveLength(0);
    await c.mutate({ ...a, namespace: 'scribe-errors' });
    expect(server.requests).toHaveLength(1);
  });

  it('objectSelector is judged on the object as earlier webhooks left it', async () => {
    const c = chain({
      mutating: [
        mutating(
          'm',
          ['labeller.example.io', '/label-a'],
          ['selective.example.io', '/mutate', { objectSelector: { matchLabels: { a: 'yes' } } }],
        ),
      ],
    });
    await c.mutate(attrs(PVC_CREATE));
    expect(server.requests.map((r) => r.url.split('?')[0])).toEqual(['/label-a', '/mutate']);
  });

  it('matchConditions do not exist in v1.24: a webhook carrying them is called regardless', async () => {
    const c = chain({
      validating: [
        validating('v', [
          'v.example.io',
          '/validate',
          { matchConditions: [{ name: 'never', expression: 'false' }] },
        ]),
      ],
    });
    await c.validate(attrs(PVC_CREATE));
    expect(requestsTo('/validate')).toHaveLength(1);
  });

  it('a 200 answer that is not JSON is a failed call in client-go words', async () => {
    const c = chain({ validating: [validating('v', ['v.example.io', '/not-json'])] });
    const e = await failure(c.validate(attrs(PVC_CREATE)));
    expect(e.status.message).toBe(
      `Internal error occurred: failed calling webhook "v.example.io": failed to call webhook: couldn't get version/kind; json parse error: invalid character 'o' looking for beginning of value`,
    );
  });
});
