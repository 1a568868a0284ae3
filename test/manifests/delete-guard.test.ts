// components/delete-guard: the ValidatingAdmissionPolicy that limits the
// replicator's deletes to what Scribe made. Its CEL runs in the API server;
// here it is checked against the schema and against the replicator's own
// RBAC, identity and labels, so that the three cannot drift apart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PersistentVolumeClaim,
  V1ValidatingAdmissionPolicy,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { managedBy, managedByLabel } from '../../replicator/src/naming.ts';
import {
  cloneClaim,
  endpointService,
  receiverJob,
  restoreClaim,
  senderJob,
  snapshotOf,
} from '../../replicator/src/objects.ts';
import { modelOf, schemaErrors } from './support/kube-models.ts';
import { MANIFESTS, find, kustomize } from './support/kustomize.ts';

function withGuard() {
  const tmp = mkdtempSync(join(tmpdir(), 'scribe-guard-'));
  try {
    writeFileSync(
      join(tmp, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${relative(tmp, join(MANIFESTS, 'base'))}]`,
        `components: [${relative(tmp, join(MANIFESTS, 'components/delete-guard'))}]`,
        '',
      ].join('\n'),
    );
    return kustomize(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe('the delete guard (Kubernetes 1.30+)', () => {
  const objs = withGuard();
  const name = 'scribe-replicator-deletes-only-its-own';
  const policy = find<V1ValidatingAdmissionPolicy>(objs, 'ValidatingAdmissionPolicy', name);

  it('fits the newest schemas; the oldest have no ValidatingAdmissionPolicy at all', async () => {
    for (const o of objs.filter((x) => x.kind.startsWith('ValidatingAdmissionPolicy'))) {
      const Model = (await modelOf('newest', o.apiVersion, o.kind))!;
      expect(schemaErrors(Model, o)).toEqual([]);
      expect(await modelOf('oldest', o.apiVersion, o.kind)).toBeUndefined();
    }
    expect(find<{ spec: object }>(objs, 'ValidatingAdmissionPolicyBinding', name).spec).toEqual({
      policyName: name,
      validationActions: ['Deny'],
    });
  });

  it("covers every delete the replicator's role grants, for its ServiceAccount only, and fails closed", () => {
    const role = find<V1ClusterRole>(objs, 'ClusterRole', 'scribe-replicator');
    const deletable = role
      .rules!.filter((r) => r.verbs.includes('delete'))
      .flatMap((r) => r.resources!.map((res) => `${r.apiGroups![0]}/${res}`));
    const guarded = policy.spec!.matchConstraints!.resourceRules!.flatMap((r) => {
      expect(r.operations).toEqual(['DELETE']);
      return r.resources!.map((res) => `${r.apiGroups![0]}/${res}`);
    });
    expect(guarded.sort()).toEqual(deletable.sort());
    const sa = find<V1ClusterRoleBinding>(objs, 'ClusterRoleBinding', 'scribe-replicator')
      .subjects![0]!;
    expect(policy.spec!.matchConditions).toEqual([
      {
        name: 'by-the-replicator',
        expression: `request.userInfo.username == 'system:serviceaccount:${sa.namespace}:${sa.name}'`,
      },
    ]);
    expect(policy.spec!.failurePolicy).toBe('Fail');
  });

  it('allows exactly the label every object the replicator creates carries', () => {
    const expression = policy.spec!.validations![0]!.expression;
    expect(expression).toContain(
      `oldObject.metadata.labels['${managedByLabel}'] == '${managedBy}'`,
    );
    const pvc: V1PersistentVolumeClaim = {
      metadata: { name: 'data', namespace: 'app', uid: 'u' },
      spec: { resources: { requests: { storage: '1Gi' } } },
    };
    const made = [
      cloneClaim(pvc, 's'),
      restoreClaim(pvc, 'snap', 's'),
      snapshotOf(pvc, 'snap', 'copy', 's'),
      snapshotOf(pvc, 'hist', 'history', 's'),
      senderJob(pvc, 'copy', 'h:2222', 's', { secret: 'k', checksum: false }),
      receiverJob(pvc, 's', { secret: 'k' }),
      endpointService(pvc, 'ClusterIP'),
    ];
    for (const o of made) expect(o.metadata?.labels?.[managedByLabel], o.kind).toBe(managedBy);
  });
});
