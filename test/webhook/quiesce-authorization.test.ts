import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { specKeys, statusKeys } from '../../model/src/index.ts';
import { accessReviewer } from '../../webhook/src/access-review.ts';
import type { AdmissionRequest } from '../../webhook/src/admission-review.ts';
import { ACCESS_REVIEW_TIMEOUT_MS } from '../../webhook/src/defaults.ts';
import { createHandlers } from '../../webhook/src/handlers.ts';
import { OLDEST } from '../../webhook/src/server-capabilities.ts';
import { validatingWebhookConfiguration } from '../../webhook/src/webhook-configurations.ts';
import { KubeClient } from '../../webhook/src/kube-client.ts';
import {
  execAccessReview,
  execCheckFailed,
  execQuestion,
  execVerdict,
} from '../../webhook/src/quiesce-authorization.ts';
import { startApiServer } from '../standin/api/server.ts';
import { scribeShaped } from './support/scribe-shaped.ts';

const SNAPSHOT = { method: 'snapshot' };
const CREATE = '0002-validate-PersistentVolumeClaim-CREATE--pvc-create-filesystem-annotated.json';
const UPDATE = '0010-validate-PersistentVolumeClaim-UPDATE--pvc-update-kubectl-annotate.json';
const PROTECTION =
  '0050-validate-PersistentVolumeClaim-UPDATE--pvc-update-finalizer-removed-by-pvc-protection-controller.json';
const HOOK = '["sh","-c","sync"]';

type Annotated = { metadata: { annotations?: Record<string, string> } };
const annotations = (o: unknown) => ((o as Annotated).metadata.annotations ??= {});

/** A captured request; `before`/`after` set annotations on oldObject/object. */
function request(
  file: string,
  after: Record<string, string | undefined>,
  before: Record<string, string | undefined> = {},
): AdmissionRequest {
  const r = scribeShaped(file, SNAPSHOT).request;
  const apply = (o: unknown, set: Record<string, string | undefined>) => {
    if (!o) return;
    const a = annotations(o);
    for (const [k, v] of Object.entries(set))
      if (v === undefined) delete a[k];
      else a[k] = v;
  };
  apply(r.oldObject, before);
  apply(r.object, { ...before, ...after });
  return r;
}

describe('which claim writes need the pods/exec check', () => {
  it('a CREATE with a quiesce command asks about the captured requester, in its namespace', () => {
    const r = request(CREATE, { [specKeys.quiesceCommand]: HOOK });
    const q = execQuestion(r);
    expect(q).toMatchObject({
      namespace: 'scribe-fixtures',
      annotations: [specKeys.quiesceCommand],
      user: { username: 'lab-admin', groups: ['system:masters', 'system:authenticated'] },
    });
    expect(execAccessReview(q!)).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'lab-admin',
        groups: ['system:masters', 'system:authenticated'],
        resourceAttributes: {
          namespace: 'scribe-fixtures',
          verb: 'create',
          group: '',
          resource: 'pods',
          subresource: 'exec',
        },
      },
    });
  });

  it('copies uid and extra of a service account as the API server sent them', () => {
    const r = request(PROTECTION, { [specKeys.quiesceContainer]: 'db' });
    r.userInfo.extra = { 'authentication.kubernetes.io/pod-name': ['replicator-0'] };
    const spec = execAccessReview(execQuestion(r)!).spec;
    expect(spec.user).toBe('system:serviceaccount:kube-system:pvc-protection-controller');
    expect(spec.uid).toBe('f45e28ba-3797-4dbc-974e-d939240d1a09');
    expect(spec.extra).toEqual({ 'authentication.kubernetes.io/pod-name': ['replicator-0'] });
  });

  it('an UPDATE that adds or changes any of the three hook keys is checked, naming only those', () => {
    const before = { [specKeys.quiesceCommand]: HOOK, [specKeys.unquiesceCommand]: HOOK };
    const changed = request(
      UPDATE,
      { [specKeys.unquiesceCommand]: '["true"]', [specKeys.quiesceContainer]: 'db' },
      before,
    );
    expect(execQuestion(changed)?.annotations).toEqual([
      specKeys.unquiesceCommand,
      specKeys.quiesceContainer,
    ]);
  });

  it('an UPDATE that leaves the hook as it was (the replicator writing status) is not checked', () => {
    const hook = { [specKeys.quiesceCommand]: HOOK, [specKeys.quiesceContainer]: 'db' };
    const status = request(UPDATE, { 'status.scribe.backube.io/last-sync': 'now' }, hook);
    expect(execQuestion(status)).toBeUndefined();
  });

  it('removing a hook, changing only its timeout, a claim without hooks, and other kinds are not checked', () => {
    const hook = { [specKeys.quiesceCommand]: HOOK, [specKeys.unquiesceCommand]: HOOK };
    expect(
      execQuestion(
        request(
          UPDATE,
          { [specKeys.quiesceCommand]: undefined, [specKeys.unquiesceCommand]: undefined },
          hook,
        ),
      ),
    ).toBeUndefined();
    expect(
      execQuestion(request(UPDATE, { [specKeys.quiesceTimeout]: '2m' }, hook)),
    ).toBeUndefined();
    expect(execQuestion(request(CREATE, {}))).toBeUndefined();
    const pod = { ...request(CREATE, { [specKeys.quiesceCommand]: HOOK }) };
    pod.kind = { group: '', version: 'v1', kind: 'Pod' };
    expect(execQuestion(pod)).toBeUndefined();
  });

  it('a quiesce record written by hand (the undo a restarted replicator runs, and where) is checked, per target too', () => {
    const record = {
      [statusKeys.quiescedAt]: '2026-12-06T21:00:00Z',
      [statusKeys.quiescedPods]: 'web-0/web',
      [`${statusKeys.quiescedUndo}.offsite`]: '["sh","-c","anything"]',
    };
    expect(execQuestion(request(UPDATE, record))?.annotations.sort()).toEqual(
      Object.keys(record).sort(),
    );
    // The replicator clearing its record, or leaving it as it was, is not asked about.
    expect(
      execQuestion(request(UPDATE, { [statusKeys.quiescedUndo]: undefined }, record)),
    ).toBeUndefined();
    expect(
      execQuestion(request(UPDATE, { [statusKeys.lastSyncEnd]: '2026-12-06T21:01:00Z' }, record)),
    ).toBeUndefined();
  });

  it('a dry run is checked like any write (a SubjectAccessReview has no side effects)', () => {
    const r = request(CREATE, { [specKeys.quiesceCommand]: HOOK });
    r.dryRun = true;
    expect(execQuestion(r)).toBeDefined();
  });
});

describe('the verdict', () => {
  const q = execQuestion(
    request(CREATE, { [specKeys.quiesceCommand]: HOOK, [specKeys.quiesceContainer]: 'db' }),
  )!;
  q.user = { username: 'bob', groups: ['system:authenticated'] };

  it('allows what the API server allows', () => {
    expect(execVerdict(q, { allowed: true, reason: 'RBAC' })).toEqual({ allowed: true });
  });

  it('refuses with 403, naming the annotations, the user and the RBAC needed', () => {
    for (const status of [{ allowed: false }, { allowed: true, denied: true }, undefined]) {
      const v = execVerdict(q, status);
      expect(v).toMatchObject({ allowed: false, code: 403 });
    }
    const v = execVerdict(q, { allowed: false, reason: 'no RBAC policy matched' });
    expect((v as { message: string }).message).toBe(
      `persistentvolumeclaims "${q.claim}" is forbidden: User "bob" cannot set metadata.annotations[${specKeys.quiesceCommand}], metadata.annotations[${specKeys.quiesceContainer}]: quiesce hooks make Scribe run commands in this namespace's pods, so setting them needs permission to create resource "pods/exec" in API group "" in the namespace "scribe-fixtures" (no RBAC policy matched); grant it with a Role (verbs: ["create"], resources: ["pods/exec"]) bound to the user, or ask someone who has it to set the hook`,
    );
  });

  it('an API error refuses too, saying what could not be checked', () => {
    const v = execCheckFailed(q, 'the API server did not answer within 2000 ms');
    expect(v).toMatchObject({ allowed: false, code: 500 });
    expect((v as { message: string }).message).toContain(
      'cannot check whether User "bob" may create pods/exec in the namespace "scribe-fixtures"',
    );
  });
});

describe('the access-review edge', () => {
  let silent: Server | undefined;
  afterAll(() => silent?.closeAllConnections());

  it('gives up within its bound on an API server that never answers, and the claim is refused', async () => {
    silent = createServer(() => {}); // takes the request, never answers
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', r));
    const kube = new KubeClient({
      server: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    });
    const handlers = createHandlers(
      {} as Parameters<typeof createHandlers>[0],
      accessReviewer(kube, 300),
    );
    const started = Date.now();
    const out = await handlers.validate(request(CREATE, { [specKeys.quiesceCommand]: HOOK }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.reason).toBe('access-review-failed');
    expect(out.error).toBe('the API server did not answer within 300 ms');
    expect(out.decision).toMatchObject({ allowed: false, code: 500 });
    expect((out.decision as { message: string }).message).toContain(
      'the API server did not answer within 300 ms',
    );
    kube.close();
    await new Promise((r) => silent!.close(r));
  });

  it("is bounded well inside the validating webhook's timeoutSeconds, so the webhook's denial arrives before the failurePolicy applies", () => {
    const config = validatingWebhookConfiguration({
      capabilities: OLDEST,
      namespace: 'scribe-system',
      service: 'scribe-webhook',
      annotationPrefixes: [],
    });
    const seconds = config.webhooks![0]!.timeoutSeconds!;
    expect(ACCESS_REVIEW_TIMEOUT_MS).toBeLessThanOrEqual(seconds * 1000 - 1000);
  });

  it("a webhook that may not create subjectaccessreviews refuses the hook with the API server's 403", async () => {
    const api = await startApiServer({ name: 'sar' });
    const viewer = new KubeClient({
      server: api.url,
      ca: api.caPem,
      token: () => api.readOnlyToken,
    });
    try {
      const handlers = createHandlers(
        {} as Parameters<typeof createHandlers>[0],
        accessReviewer(viewer, 2_000),
      );
      const out = await handlers.validate(request(CREATE, { [specKeys.quiesceCommand]: HOOK }));
      expect(out.decision).toMatchObject({ allowed: false, code: 500 });
      expect(out.error).toBe(
        'subjectaccessreviews.authorization.k8s.io is forbidden: User "viewer" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
      );
    } finally {
      viewer.close();
      await api.stop();
    }
  });
});
