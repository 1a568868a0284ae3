// Every object of every build validates against the Kubernetes schemas of the
// versions that build is for: the base and the cert-manager overlay (webhook
// matchConditions, from 1.28) against the newest, kube-1.24-to-1.27 against the
// oldest supported version too. Unknown fields are errors.
import { describe, expect, it } from 'vitest';
import { BUILDS, buildAll, type Build, type KubeObject } from './support/kustomize.ts';
import {
  FIELDS_ADDED_IN_1_25,
  SCHEMA_SETS,
  modelOf,
  schemaErrors,
  type SchemaSet,
} from './support/kube-models.ts';

const built = buildAll();

// Custom resources have no model; these are the only ones Scribe ships.
const CUSTOM = new Set(['cert-manager.io/v1/Issuer', 'cert-manager.io/v1/Certificate']);

async function errorsIn(objs: KubeObject[], set: SchemaSet): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objs) {
    const Model = await modelOf(set, o.apiVersion, o.kind);
    const id = `${o.kind}/${o.metadata.name}`;
    if (!Model) {
      if (!CUSTOM.has(`${o.apiVersion}/${o.kind}`)) errors.push(`${id}: no schema`);
      continue;
    }
    errors.push(...schemaErrors(Model, o).map((e) => `${id}: ${e}`));
  }
  return errors;
}

const targets: [Build, SchemaSet[]][] = [
  ['base', ['newest']],
  ['overlays/cert-manager', ['newest']],
  ['overlays/kube-1.24-to-1.27', ['oldest', 'newest']],
];

describe('manifests against the Kubernetes schemas', () => {
  it('the validator refuses an unknown field, a wrong type and a missing required field, in both schema sets', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', labels: { 'app.kubernetes.io/name': 'x' } },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'i', securityContext: { privileged: false } }] },
        },
      },
    };
    const container = (extra: object) => ({
      ...deployment,
      spec: {
        ...deployment.spec,
        template: { ...deployment.spec.template, spec: { containers: [{ image: 'i', ...extra }] } },
      },
    });
    for (const set of ['newest', 'oldest'] as const) {
      const Model = (await modelOf(set, 'apps/v1', 'Deployment'))!;
      expect(schemaErrors(Model, deployment), set).toEqual([]);
      expect(
        schemaErrors(Model, { ...deployment, spec: { ...deployment.spec, replica: 2 } }),
      ).toEqual(['/spec/replica is not a field of this schema']);
      expect(schemaErrors(Model, container({ name: 'c', imagePullpolicy: 'Always' }))).toEqual([
        '/spec/template/spec/containers/0/imagePullpolicy is not a field of this schema',
      ]);
      expect(
        schemaErrors(Model, { ...deployment, spec: { ...deployment.spec, replicas: '2' } }),
      ).toEqual(['/spec/replicas must be integer']);
      expect(schemaErrors(Model, container({}))).toEqual([
        expect.stringMatching(
          /^\/spec\/template\/spec\/containers\/0 must have required property '?name'?$/,
        ),
      ]);
    }
    // The sets differ where the API did: matchConditions came in 1.27 (GA 1.30).
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'w' },
      webhooks: [
        {
          name: 'w.example.com',
          clientConfig: { url: 'https://example.com' },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          matchConditions: [{ name: 'm', expression: 'true' }],
        },
      ],
    };
    const v = 'admissionregistration.k8s.io/v1';
    expect(schemaErrors((await modelOf('newest', v, webhook.kind))!, webhook)).toEqual([]);
    expect(schemaErrors((await modelOf('oldest', v, webhook.kind))!, webhook)).toEqual([
      '/webhooks/0/matchConditions is not a field of this schema',
    ]);
  });

  for (const [build, sets] of targets) {
    for (const set of sets) {
      const { version, kubernetes } = SCHEMA_SETS[set];
      it(`${build} fits the ${set} schemas (kubernetes-models ${version}, Kubernetes ${kubernetes})`, async () => {
        expect(await errorsIn(built.get(build)!, set)).toEqual([]);
      });
    }
  }

  it('the base is not for servers before 1.28: against the oldest schemas only its matchConditions fail', async () => {
    expect(await errorsIn(built.get('base')!, 'oldest')).toEqual([
      'MutatingWebhookConfiguration/scribe-webhook: /webhooks/0/matchConditions is not a field of this schema',
      'ValidatingWebhookConfiguration/scribe-webhook: /webhooks/0/matchConditions is not a field of this schema',
    ]);
  });

  it('kube-1.24-to-1.27 uses no field that Kubernetes 1.25 added (the oldest schema set is 1.25)', () => {
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
    };
    walk(built.get('overlays/kube-1.24-to-1.27'));
    expect(FIELDS_ADDED_IN_1_25.filter((f) => keys.has(f))).toEqual([]);
  });

  it('every build is covered', () => {
    expect(targets.map(([b]) => b).sort()).toEqual([...BUILDS].sort());
  });
});
