import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type {
  V1ClusterRole,
  V1Deployment,
  V1MutatingWebhookConfiguration,
  V1PodSpec,
  V1Role,
  V1Service,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { specPrefix, statusPrefix } from '../../model/src/index.ts';
import { WEBHOOK_PATHS } from '../../webhook/src/http-edge.ts';
import { OLDEST, capabilitiesOf } from '../../webhook/src/server-capabilities.ts';
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from '../../webhook/src/webhook-configurations.ts';

const ROOT = join(import.meta.dirname, '../..');
const MANIFESTS = join(ROOT, 'manifests');
const BUILDS = ['base', 'overlays/kube-1.24-to-1.27', 'overlays/cert-manager'];

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

// kubectl's own kustomize, offline: what `kubectl apply -k` would send.
function build(path: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', join(MANIFESTS, path)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}
const built = new Map(BUILDS.map((b) => [b, build(b)]));
const find = <T>(objs: Obj[], kind: string, name = 'scribe-webhook') =>
  objs.find((o) => o.kind === kind && o.metadata.name === name) as unknown as T;

describe('manifests', () => {
  it('every file parses as YAML, and each kustomization lists every file and folder beside it', () => {
    for (const file of yamlFiles(MANIFESTS)) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'));
      for (const d of docs) expect(d.errors, relative(ROOT, file)).toEqual([]);
    }
    const kustomizations = yamlFiles(MANIFESTS).filter((f) => f.endsWith('kustomization.yaml'));
    expect(kustomizations.length).toBe(6);
    for (const k of kustomizations) {
      const dir = join(k, '..');
      const { resources, configurations = [] } = parseAllDocuments(
        readFileSync(k, 'utf8'),
      )[0]!.toJS() as { resources: string[]; configurations?: string[] };
      const beside = readdirSync(dir).filter((f) => f !== 'kustomization.yaml');
      const local = [...resources, ...configurations].filter((r) => !r.startsWith('..'));
      expect(local.sort(), relative(ROOT, k)).toEqual(beside.sort());
    }
  });

  it("the webhook configurations are the builders' output for the server versions each build targets", () => {
    const prefixes = [specPrefix, statusPrefix];
    const common = {
      namespace: 'scribe-system',
      service: 'scribe-webhook',
      annotationPrefixes: prefixes,
    };
    const expectations: [string, typeof OLDEST][] = [
      ['base', capabilitiesOf({ major: '1', minor: '28' })],
      ['overlays/kube-1.24-to-1.27', OLDEST],
    ];
    for (const [b, capabilities] of expectations) {
      const objs = built.get(b)!;
      expect(find(objs, 'MutatingWebhookConfiguration')).toEqual(
        mutatingWebhookConfiguration({ ...common, capabilities }),
      );
      expect(find(objs, 'ValidatingWebhookConfiguration')).toEqual(
        validatingWebhookConfiguration({ ...common, capabilities }),
      );
    }
    const cm = built.get('overlays/cert-manager')!;
    const caps = capabilitiesOf({ major: '1', minor: '30' });
    const withInjector = {
      ...common,
      capabilities: caps,
      certManagerCertificate: 'scribe-system/scribe-webhook',
    };
    expect(find(cm, 'MutatingWebhookConfiguration')).toEqual(
      mutatingWebhookConfiguration(withInjector),
    );
    expect(find(cm, 'ValidatingWebhookConfiguration')).toEqual(
      validatingWebhookConfiguration(withInjector),
    );
  });

  it("webhooks exclude kube-system and Scribe's namespace, fail open for pods, and call the Service on the server's paths", () => {
    for (const [b, objs] of built) {
      const m = find<V1MutatingWebhookConfiguration>(objs, 'MutatingWebhookConfiguration')
        .webhooks![0]!;
      const v = find<V1ValidatingWebhookConfiguration>(objs, 'ValidatingWebhookConfiguration')
        .webhooks![0]!;
      const svc = find<V1Service>(objs, 'Service');
      for (const w of [m, v]) {
        expect(w.namespaceSelector, b).toEqual({
          matchExpressions: [
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: ['kube-system', 'scribe-system'],
            },
          ],
        });
        expect(w.sideEffects).toBe('None');
        expect(w.admissionReviewVersions).toEqual(['v1']);
        expect(w.timeoutSeconds).toBeLessThanOrEqual(5);
        expect(w.clientConfig.service).toMatchObject({
          name: svc.metadata!.name,
          namespace: svc.metadata!.namespace,
          port: svc.spec!.ports![0]!.port,
        });
        expect(w.clientConfig.url).toBeUndefined();
      }
      expect(m.clientConfig.service!.path).toBe(WEBHOOK_PATHS.mutatePods);
      expect(v.clientConfig.service!.path).toBe(WEBHOOK_PATHS.validatePersistentVolumeClaims);
      expect(m.failurePolicy).toBe('Ignore');
      expect(m.rules).toEqual([
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['CREATE'],
          resources: ['pods'],
          scope: 'Namespaced',
        },
      ]);
      expect(v.rules![0]!.operations).toEqual(['CREATE', 'UPDATE']);
      // Fail closed only where matchConditions keep every other claim away.
      expect(v.failurePolicy).toBe(v.matchConditions ? 'Fail' : 'Ignore');
      expect(Boolean(m.matchConditions)).toBe(b !== 'overlays/kube-1.24-to-1.27');
    }
  });

  it('the webhook pod passes the restricted Pod Security Standard', () => {
    for (const [b, objs] of built) {
      const ns = find<Obj & { metadata: { labels: Record<string, string> } }>(
        objs,
        'Namespace',
        'scribe-system',
      );
      expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      const pod = find<V1Deployment>(objs, 'Deployment').spec!.template.spec as V1PodSpec;
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
      expect(pod.hostIPC ?? false).toBe(false);
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.securityContext?.runAsUser).not.toBe(0);
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      // Restricted allows only these volume types.
      for (const v of pod.volumes ?? []) {
        const types = Object.keys(v).filter((k) => k !== 'name');
        expect(
          types.every((t) =>
            [
              'configMap',
              'csi',
              'downwardAPI',
              'emptyDir',
              'ephemeral',
              'persistentVolumeClaim',
              'projected',
              'secret',
            ].includes(t),
          ),
          `${b}: volume ${v.name}`,
        ).toBe(true);
      }
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = c.securityContext!;
        expect(sc.privileged ?? false).toBe(false);
        expect(sc.allowPrivilegeEscalation).toBe(false);
        expect(sc.capabilities?.drop).toEqual(['ALL']);
        expect((sc.capabilities?.add ?? []).every((a) => a === 'NET_BIND_SERVICE')).toBe(true);
        expect(sc.runAsUser ?? pod.securityContext?.runAsUser).not.toBe(0);
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect((c.ports ?? []).every((p) => p.hostPort === undefined)).toBe(true);
        expect(c.resources?.requests).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
        expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' });
        expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS' });
      }
    }
  });

  it('two replicas behind a PodDisruptionBudget, and the Service and budget select exactly the webhook pods', () => {
    const objs = built.get('base')!;
    const deployment = find<V1Deployment>(objs, 'Deployment');
    const labels = deployment.spec!.template.metadata!.labels!;
    expect(deployment.spec!.replicas).toBe(2);
    expect(
      find<{ spec: { minAvailable: number; selector: { matchLabels: object } } }>(
        objs,
        'PodDisruptionBudget',
      ).spec,
    ).toEqual({
      minAvailable: 1,
      selector: { matchLabels: labels },
    });
    expect(find<V1Service>(objs, 'Service').spec!.selector).toEqual(labels);
    expect(deployment.spec!.selector.matchLabels).toEqual(labels);
  });

  // Rules every role shares (nothing grantable, delete only in the replicator's):
  // test/manifests/replicator.test.ts.
  it("the webhook's RBAC is least privilege: claims read-only, its own Secret and webhook configurations by name, access reviews", () => {
    const objs = built.get('base')!;
    const cluster = find<V1ClusterRole>(objs, 'ClusterRole');
    expect(cluster.rules).toEqual([
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list', 'watch'] },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
        resourceNames: ['scribe-webhook'],
        verbs: ['get', 'patch'],
      },
      // Whether a user who sets a quiesce hook may exec (quiesce-authorization.ts).
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['subjectaccessreviews'],
        verbs: ['create'],
      },
    ]);
    const role = find<V1Role>(objs, 'Role');
    expect(role.metadata!.namespace).toBe('scribe-system');
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['scribe-webhook-ca'],
        verbs: ['get'],
      },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    expect(find<V1Role>(built.get('overlays/cert-manager')!, 'Role').rules).toEqual([]);
  });
});
