// The admission chain's pure decisions against the kube-apiserver v1.24
// captures: which webhooks a request reaches, the review sent to them, the
// answer check, the patch, and the Status bodies.
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applyPatch, decodePatch, PatchError } from './admission/json-patch.ts';
import { matchesSelector, SelectorError } from './admission/label-selector.ts';
import {
  namespaceSelectorMatches,
  needsNamespaceLookup,
  objectSelectorMatches,
  ruleMatches,
  rulesMatch,
  type MatchAttributes,
} from './admission/match.ts';
import { verifyAdmissionResponse } from './admission/response.ts';
import { buildAdmissionReview, type AdmissionReviewRequest } from './admission/review.ts';
import type { KubeObject } from './admission/seam.ts';
import { denial, internalError } from './admission/status.ts';
import { admissionFixtures, attributesFromReview, fixture } from './admission/test-fixtures.ts';
import { orderMutating, orderValidating } from './admission/webhooks.ts';

const mutatingConfig = fixture<V1MutatingWebhookConfiguration>(
  'webhook/mutatingwebhookconfiguration.stored.json',
);
const validatingConfig = fixture<V1ValidatingWebhookConfiguration>(
  'webhook/validatingwebhookconfiguration.stored.json',
);
const mutatingHook = mutatingConfig.webhooks![0]!;
const FIXTURE_NS = { fixtures: 'yes', 'kubernetes.io/metadata.name': 'scribe-fixtures' };
const ERRORS_NS = { 'kubernetes.io/metadata.name': 'scribe-errors' };

const review = (file: string) => fixture<AdmissionReviewRequest>(`admission/${file}`);
const withUid = (r: AdmissionReviewRequest, uid: string) => ({
  ...r,
  request: { ...r.request, uid },
});

function calls(hook: V1MutatingWebhook, a: MatchAttributes, nsLabels?: Record<string, string>) {
  if (!rulesMatch(hook, a)) return false;
  return namespaceSelectorMatches(hook, a, nsLabels) && objectSelectorMatches(hook, a);
}

describe('AdmissionReview v1 as kube-apiserver v1.24 sent it', () => {
  const files = admissionFixtures();
  it('has all 55 captures to compare with', () => {
    expect(files).toHaveLength(55);
  });
  it.each(files)('%s: same JSON, same key order, modulo uid', (file) => {
    const captured = review(file);
    const built = buildAdmissionReview(attributesFromReview(captured), undefined, 'UID');
    expect(JSON.stringify(built)).toBe(JSON.stringify(withUid(captured, 'UID')));
  });

  it('the mutating call for a generateName pod has no name key at all; the validating one has it', () => {
    const m = buildAdmissionReview(
      attributesFromReview(
        review('0033-mutate-Pod-CREATE--pod-create-by-replicaset-generatename.json'),
      ),
    );
    expect(Object.hasOwn(m.request, 'name')).toBe(false);
    expect(m.request.oldObject).toBeNull();
    const v = buildAdmissionReview(
      attributesFromReview(
        review('0034-validate-Pod-CREATE--pod-create-by-replicaset-generatename.json'),
      ),
    );
    expect(v.request.name).toBe('web-6678464bfb-twt4n');
  });

  it('gives every call a fresh uid', () => {
    const a = attributesFromReview(
      review('0005-mutate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
    );
    const uids = new Set(Array.from({ length: 20 }, () => buildAdmissionReview(a).request.uid));
    expect(uids.size).toBe(20);
    for (const u of uids)
      expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('a cluster-scoped object and a user without uid or groups leave those keys out', () => {
    const a = attributesFromReview(
      review('0005-mutate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
    );
    delete a.namespace;
    a.userInfo = { username: 'system:anonymous', groups: [] };
    const r = buildAdmissionReview(a).request;
    expect(Object.hasOwn(r, 'namespace')).toBe(false);
    expect(r.userInfo).toEqual({ username: 'system:anonymous' });
    a.subResource = 'status';
    const keys = Object.keys(buildAdmissionReview(a).request);
    expect(keys.slice(0, 7)).toEqual([
      'uid',
      'kind',
      'resource',
      'subResource',
      'requestKind',
      'requestResource',
      'requestSubResource',
    ]);
  });
});

describe('which webhooks a request reaches', () => {
  const files = admissionFixtures();

  it.each(files)('%s: the captured configuration matched it in scribe-fixtures', (file) => {
    const a = attributesFromReview(review(file));
    const hook = file.includes('-mutate-') ? mutatingHook : validatingConfig.webhooks![0]!;
    expect(needsNamespaceLookup(hook, a)).toBe('scribe-fixtures');
    expect(calls(hook, a, FIXTURE_NS)).toBe(true);
    // The same request in the unlabelled namespace reaches no webhook.
    expect(calls(hook, { ...a, namespace: 'scribe-errors' }, ERRORS_NS)).toBe(false);
  });

  const pvc = attributesFromReview(
    review('0005-mutate-PersistentVolumeClaim-CREATE--pvc-create-plain.json'),
  );
  const rule = (over: object) => ({
    apiGroups: [''],
    apiVersions: ['v1'],
    operations: ['CREATE'],
    resources: ['persistentvolumeclaims'],
    scope: '*',
    ...over,
  });

  it('rules: groups, versions, operations and resources with *', () => {
    expect(ruleMatches(rule({}), pvc)).toBe(true);
    expect(ruleMatches(rule({ apiGroups: ['apps'] }), pvc)).toBe(false);
    expect(ruleMatches(rule({ apiGroups: ['*'], apiVersions: ['*'] }), pvc)).toBe(true);
    expect(ruleMatches(rule({ apiVersions: ['v1beta1'] }), pvc)).toBe(false);
    expect(ruleMatches(rule({ operations: ['UPDATE', 'DELETE'] }), pvc)).toBe(false);
    expect(ruleMatches(rule({ operations: ['*'] }), pvc)).toBe(true);
    expect(ruleMatches(rule({ resources: ['*'] }), pvc)).toBe(true);
    expect(ruleMatches(rule({ resources: ['pods'] }), pvc)).toBe(false);
  });

  it('rules: subresources need their own form (pods/status, */status, pods/*, */*)', () => {
    const status = { ...pvc, operation: 'UPDATE' as const, subResource: 'status' };
    const r = (resources: string[]) => rule({ operations: ['UPDATE'], resources });
    expect(ruleMatches(r(['persistentvolumeclaims']), status)).toBe(false);
    expect(ruleMatches(r(['*']), status)).toBe(false);
    expect(ruleMatches(r(['persistentvolumeclaims/status']), status)).toBe(true);
    expect(ruleMatches(r(['*/status']), status)).toBe(true);
    expect(ruleMatches(r(['persistentvolumeclaims/*']), status)).toBe(true);
    expect(ruleMatches(r(['*/*']), status)).toBe(true);
    expect(ruleMatches(r(['persistentvolumeclaims/resize']), status)).toBe(false);
    // pods/* also covers the main resource.
    expect(ruleMatches(r(['persistentvolumeclaims/*']), { ...pvc, operation: 'UPDATE' })).toBe(
      true,
    );
  });

  it('rules: scope Namespaced and Cluster, with a Namespace counted as cluster-scoped', () => {
    const pv = {
      ...pvc,
      namespace: undefined,
      resource: { group: '', version: 'v1', resource: 'persistentvolumes' },
    };
    const ns = {
      ...pvc,
      namespace: 'team-a',
      name: 'team-a',
      resource: { group: '', version: 'v1', resource: 'namespaces' },
    };
    const any = rule({ resources: ['*'] });
    expect(ruleMatches({ ...any, scope: 'Namespaced' }, pvc)).toBe(true);
    expect(ruleMatches({ ...any, scope: 'Namespaced' }, pv)).toBe(false);
    expect(ruleMatches({ ...any, scope: 'Namespaced' }, ns)).toBe(false);
    expect(ruleMatches({ ...any, scope: 'Cluster' }, pvc)).toBe(false);
    expect(ruleMatches({ ...any, scope: 'Cluster' }, pv)).toBe(true);
    expect(ruleMatches({ ...any, scope: 'Cluster' }, ns)).toBe(true);
  });

  it('namespaceSelector: not applied to cluster-scoped objects, applied to a Namespace by its own labels', () => {
    const hook = { ...mutatingHook, rules: [rule({ resources: ['*'], operations: ['*'] })] };
    const pv = {
      ...pvc,
      namespace: undefined,
      resource: { group: '', version: 'v1', resource: 'persistentvolumes' },
    };
    expect(needsNamespaceLookup(hook, pv)).toBeUndefined();
    expect(calls(hook, pv)).toBe(true);

    const nsObject = (labels: Record<string, string>) =>
      ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels } }) as KubeObject;
    const createNs = {
      ...pvc,
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      namespace: undefined,
      name: 'team-a',
      object: nsObject({ fixtures: 'yes' }),
    };
    expect(needsNamespaceLookup(hook, createNs)).toBeUndefined();
    expect(calls(hook, createNs)).toBe(true);
    expect(calls(hook, { ...createNs, object: nsObject({}) })).toBe(false);
    // Deleting a Namespace: judged by the stored namespace, looked up by its name.
    const del = {
      ...createNs,
      operation: 'DELETE' as const,
      object: null,
      oldObject: nsObject({}),
    };
    expect(needsNamespaceLookup(hook, del)).toBe('team-a');
    expect(calls(hook, del, { fixtures: 'yes' })).toBe(true);
  });

  it('namespaceSelector: matchExpressions over the kubernetes.io/metadata.name label', () => {
    const hook = {
      ...mutatingHook,
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
        ],
      },
    };
    expect(calls(hook, pvc, FIXTURE_NS)).toBe(true);
    expect(
      calls(
        hook,
        { ...pvc, namespace: 'kube-system' },
        { 'kubernetes.io/metadata.name': 'kube-system' },
      ),
    ).toBe(false);
  });

  it('objectSelector: the object or the old object (DELETE has only the old one)', () => {
    const hook = { ...mutatingHook, objectSelector: { matchLabels: { app: 'web' } } };
    const pod = attributesFromReview(
      review('0033-mutate-Pod-CREATE--pod-create-by-replicaset-generatename.json'),
    );
    expect(calls(hook, pod, FIXTURE_NS)).toBe(true);
    expect(calls(hook, pvc, FIXTURE_NS)).toBe(false);
    const del = attributesFromReview(review('0039-mutate-Pod-DELETE--pod-delete-kubectl.json'));
    const labelled = {
      ...del,
      oldObject: {
        ...del.oldObject!,
        metadata: { ...del.oldObject!.metadata, labels: { app: 'web' } },
      },
    };
    expect(del.object).toBeNull();
    expect(calls(hook, del, FIXTURE_NS)).toBe(false);
    expect(calls(hook, labelled, FIXTURE_NS)).toBe(true);
  });

  it('label selectors: In, NotIn, Exists, DoesNotExist, and malformed ones are errors', () => {
    const l = { tier: 'db', env: 'prod' };
    const m = (op: string, values?: string[]) =>
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: op, values }] }, l);
    expect(m('In', ['db', 'web'])).toBe(true);
    expect(m('In', ['web'])).toBe(false);
    expect(m('NotIn', ['web'])).toBe(true);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, l),
    ).toBe(true);
    expect(m('Exists')).toBe(true);
    expect(m('DoesNotExist')).toBe(false);
    expect(matchesSelector({ matchLabels: { env: 'prod', tier: 'db' } }, l)).toBe(true);
    expect(matchesSelector({ matchLabels: { env: 'dev' } }, l)).toBe(false);
    expect(matchesSelector({}, {})).toBe(true);
    expect(() => m('In', [])).toThrow(SelectorError);
    expect(() => m('Exists', ['x'])).toThrow(
      'values set must be empty for exists and does not exist',
    );
    expect(() => m('Equals', ['db'])).toThrow('"Equals" is not a valid label selector operator');
  });
});

describe('webhook order', () => {
  it('configurations by name, webhooks in written order, duplicate names numbered', () => {
    const cfg = (name: string, hooks: string[]) =>
      ({
        metadata: { name },
        webhooks: hooks.map((h) => ({ ...mutatingHook, name: h })),
      }) as V1MutatingWebhookConfiguration;
    const order = orderMutating([
      cfg('zeta', ['z1']),
      cfg('alpha', ['a2', 'a1', 'a2']),
      cfg('Beta', ['b']),
    ]);
    expect(order.map((e) => e.uid)).toEqual([
      'Beta/b/0',
      'alpha/a2/0',
      'alpha/a1/0',
      'alpha/a2/1',
      'zeta/z1/0',
    ]);
    expect(order[0]).toMatchObject({
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      reinvocationPolicy: 'Never',
    });
    const v = orderValidating([
      {
        metadata: { name: 'v' },
        webhooks: [
          { name: 'x', sideEffects: 'None', admissionReviewVersions: ['v1'], clientConfig: {} },
        ],
      },
    ]);
    expect(v[0]).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 10 });
  });
});

describe('the webhook answer, checked as the real server checks it', () => {
  const denied = fixture<{ webhookResponse: unknown }>('webhook/denial.json').webhookResponse;
  const uid = '228acaaa-371d-4697-9743-69d4f4209e3c';

  it('accepts the captured denial and keeps its status', () => {
    const v = verifyAdmissionResponse(uid, false, denied);
    expect(v.allowed).toBe(false);
    expect(v.result).toEqual({ code: 403, message: expect.stringContaining('teleport') });
  });

  it('refuses a wrong uid, a missing response, and anything but admission.k8s.io/v1 AdmissionReview', () => {
    expect(() => verifyAdmissionResponse('other', false, denied)).toThrow(
      `expected response.uid="other", got "${uid}"`,
    );
    expect(() =>
      verifyAdmissionResponse(uid, false, {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
      }),
    ).toThrow('webhook response was absent');
    const noKind = { response: { uid, allowed: true } };
    expect(() => verifyAdmissionResponse(uid, true, noKind)).toThrow(
      'expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind=',
    );
    const beta = {
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    };
    expect(() => verifyAdmissionResponse(uid, true, beta)).toThrow(
      'got admission.k8s.io/v1beta1, Kind=AdmissionReview',
    );
  });

  it('patch and patchType only together, and only from a mutating webhook', () => {
    const base = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' };
    const p = Buffer.from('[]').toString('base64');
    expect(() =>
      verifyAdmissionResponse(uid, true, { ...base, response: { uid, allowed: true, patch: p } }),
    ).toThrow('webhook returned response.patch but not response.patchType');
    expect(() =>
      verifyAdmissionResponse(uid, true, {
        ...base,
        response: { uid, allowed: true, patchType: 'JSONPatch' },
      }),
    ).toThrow('webhook returned response.patchType but not response.patch');
    expect(() =>
      verifyAdmissionResponse(uid, false, {
        ...base,
        response: { uid, allowed: true, patch: p, patchType: 'JSONPatch' },
      }),
    ).toThrow('validating webhook may not return response.patch');
    const ok = verifyAdmissionResponse(uid, true, {
      ...base,
      response: { uid, allowed: true, patch: p, patchType: 'JSONPatch', warnings: ['w1'] },
    });
    expect(ok).toMatchObject({ allowed: true, patchType: 'JSONPatch', warnings: ['w1'] });
  });

  it('a patch that is not standard base64 cannot be decoded at all', () => {
    const body = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true, patchType: 'JSONPatch', patch: 'W3t9XQ!=' },
    };
    expect(() => verifyAdmissionResponse(uid, true, body)).toThrow(
      'illegal base64 data at input byte 6',
    );
  });

  it('a missing allowed is a denial, as Go decodes false', () => {
    const v = verifyAdmissionResponse(uid, false, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid },
    });
    expect(v.allowed).toBe(false);
  });
});

describe('Status bodies byte for byte', () => {
  type ErrorFixture = { response: { rawBody: string } };

  it('a denial: the webhook code kept, no reason, the message naming the webhook', () => {
    const denied = fixture<{ webhookResponse: { response: { status: object } } }>(
      'webhook/denial.json',
    );
    const want = fixture<ErrorFixture>('errors/403-webhook-denied.json').response.rawBody;
    const s = denial(
      'validating.capture.fixtures.example.io',
      denied.webhookResponse.response.status,
    );
    expect(JSON.stringify(s) + '\n').toBe(want);
  });

  it('a denial without a word or with a code below 400', () => {
    expect(denial('w', undefined)).toMatchObject({
      message: 'admission webhook "w" denied the request without explanation',
      code: 400,
      status: 'Failure',
    });
    expect(denial('w', { code: 200, status: 'Success', reason: 'NotAllowed' })).toMatchObject({
      message: 'admission webhook "w" denied the request: NotAllowed',
      code: 400,
      status: 'Failure',
      reason: 'NotAllowed',
    });
  });

  it('an internal error', () => {
    const want = fixture<ErrorFixture>('errors/500-webhook-patch-does-not-apply.json').response
      .rawBody;
    const s = internalError(
      'add operation does not apply: doc is missing path: "/spec/initContainers/-": missing value',
    );
    expect(JSON.stringify(s) + '\n').toBe(want);
  });
});

describe('JSON Patch as evanphx/json-patch v4 applies it', () => {
  const b64 = (s: string) => Buffer.from(s, 'base64');

  it('the captured bad patch fails with the captured error', () => {
    const bad = fixture<{ webhookResponse: { response: { patch: string } } }>(
      'webhook/bad-patch.json',
    );
    const pod = review('0081-mutate-Pod-CREATE--pod-create-webhook-patch-does-not-apply.json')
      .request.object!;
    const want = fixture<{ response: { body: { details: { causes: { message: string }[] } } } }>(
      'errors/500-webhook-patch-does-not-apply.json',
    ).response.body.details.causes[0]!.message;
    expect(() => applyPatch(pod, decodePatch(b64(bad.webhookResponse.response.patch)))).toThrow(
      want,
    );
  });

  it('the captured native-sidecar patch adds the init container', () => {
    const fx = fixture<{
      webhookResponse: { response: { patch: string } };
      webhookPatchDecoded: { value: unknown }[];
    }>('webhook/native-sidecar-injection.json');
    const pod = review('0082-mutate-Pod-CREATE--pod-create-webhook-injected-native-sidecar.json')
      .request.object!;
    const out = applyPatch(
      pod,
      decodePatch(b64(fx.webhookResponse.response.patch)),
    ) as KubeObject & {
      spec: { initContainers: unknown };
    };
    expect(out.spec.initContainers).toEqual(fx.webhookPatchDecoded[0]!.value);
    expect((pod as { spec: object }).spec).not.toHaveProperty('initContainers');
  });

  it('other failures in the library words; replace of a missing key adds it and -1 counts from the end of the grown array (v4)', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    const err = (ops: object[]) => {
      try {
        applyPatch(doc, ops);
        return 'applied';
      } catch (e) {
        expect(e).toBeInstanceOf(PatchError);
        return (e as Error).message;
      }
    };
    expect(err([{ op: 'remove', path: '/a/zz' }])).toBe(
      "error in remove for path: '/a/zz': Unable to remove nonexistent key: zz: missing value",
    );
    expect(err([{ op: 'remove', path: '/q/zz' }])).toBe(
      'remove operation does not apply: doc is missing path: "/q/zz": missing value',
    );
    expect(err([{ op: 'replace', path: '/a/b/5', value: 0 }])).toBe(
      'replace operation does not apply: doc is missing key: /a/b/5: missing value',
    );
    expect(err([{ op: 'add', path: '/a/b/7', value: 0 }])).toBe(
      "error in add for path: '/a/b/7': Unable to access invalid index: 7: invalid index referenced",
    );
    expect(err([{ op: 'test', path: '/c', value: 'y' }])).toBe(
      'testing value /c failed: test failed',
    );
    expect(err([{ op: 'frobnicate', path: '/c' }])).toBe('Unexpected kind: frobnicate');
    expect(() => decodePatch(Buffer.from('oops'))).toThrow(
      "invalid character 'o' looking for beginning of value",
    );
    expect(() => decodePatch(Buffer.from('not json'))).toThrow(
      "invalid character 'o' in literal null (expecting 'u')",
    );
    expect(() => decodePatch(Buffer.from('{"op":"add"}'))).toThrow(
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
    expect(applyPatch(doc, [{ op: 'replace', path: '/new', value: 1 }])).toMatchObject({ new: 1 });
    expect(applyPatch(doc, [{ op: 'add', path: '/a/b/-1', value: 9 }])).toMatchObject({
      a: { b: [1, 2, 9] },
    });
    expect(
      applyPatch(doc, [
        { op: 'add', path: '/a~1b', value: 1 },
        { op: 'move', from: '/c', path: '/a/c' },
      ]),
    ).toEqual({
      a: { b: [1, 2], c: 'x' },
      'a/b': 1,
    });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
  });
});
