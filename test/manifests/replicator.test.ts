// The replicator as the manifests deploy it, and the RBAC of both server roles.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Container,
  V1Deployment,
  V1PolicyRule,
  V1Role,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { receiverJob, senderJob } from '../../replicator/src/objects.ts';
import {
  MANIFESTS,
  ROOT,
  buildAll,
  find,
  kustomize,
  type KubeObject,
} from './support/kustomize.ts';

const built = buildAll();
const base = built.get('base')!;
const NS = 'scribe-system';
const IMAGE = 'ghcr.io/backube/scribe';
const version = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

const deployment = find<V1Deployment>(base, 'Deployment', 'scribe-replicator');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0]!;

function help(bin: string): string {
  return execFileSync(process.execPath, [join(ROOT, bin), '--help'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}
const flagsOf = (c: V1Container) =>
  [...(c.command ?? []).slice(1), ...(c.args ?? [])]
    .filter((a) => a.startsWith('--'))
    .map((a) => a.split('=')[0]!);

function containers(objs: KubeObject[]): V1Container[] {
  return (objs.filter((o) => o.kind === 'Deployment') as unknown as V1Deployment[]).flatMap((d) => [
    ...(d.spec!.template.spec!.initContainers ?? []),
    ...d.spec!.template.spec!.containers,
  ]);
}

describe('the replicator in the manifests', () => {
  it('runs scribe-replicator from the one image with flags the program has, and its movers from the same image', () => {
    expect(container.command).toEqual(['scribe-replicator']);
    expect(container.image).toBe(`${IMAGE}:${version}`);
    const usage = help('replicator/bin/scribe-replicator.ts');
    for (const flag of flagsOf(container)) expect(usage, flag).toContain(`[${flag} `);
    expect(container.args).toEqual(
      expect.arrayContaining([
        '--namespace=$(POD_NAMESPACE)',
        '--identity=$(POD_NAME)',
        '--image=$(SCRIBE_IMAGE)',
      ]),
    );
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
    expect(env['SCRIBE_IMAGE']!.value).toBe(container.image);
    expect(env['POD_NAMESPACE']!.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(env['POD_NAME']!.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('serves metrics and /healthz on the port its flag names, and probes it', () => {
    const port = container.args!.find((a) => a.startsWith('--metrics-port='))!.split('=')[1];
    expect(container.ports).toEqual([
      { name: 'metrics', containerPort: Number(port), protocol: 'TCP' },
    ]);
    for (const probe of [container.livenessProbe, container.readinessProbe])
      expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    expect(container.resources?.requests).toEqual({ cpu: '50m', memory: '96Mi' });
    expect(container.resources?.limits?.memory).toBe('512Mi');
  });

  it('passes the restricted Pod Security Standard', () => {
    expect(pod.serviceAccountName).toBe('scribe-replicator');
    expect(pod.hostNetwork ?? pod.hostPID ?? pod.hostIPC ?? false).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
  });

  it('two replicas (one leads through the Lease) behind a budget that keeps one', () => {
    expect(deployment.spec!.replicas).toBe(2);
    const labels = deployment.spec!.template.metadata!.labels!;
    expect(labels).toEqual({
      'app.kubernetes.io/name': 'scribe',
      'app.kubernetes.io/component': 'replicator',
    });
    expect(deployment.spec!.selector.matchLabels).toEqual(labels);
    expect(find<{ spec: object }>(base, 'PodDisruptionBudget', 'scribe-replicator').spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: labels },
    });
  });

  it('mover pods get no API credentials and need no ServiceAccount of their own', () => {
    const pvc = {
      metadata: { name: 'data', namespace: 'app', uid: 'u1' },
      spec: { resources: { requests: { storage: '1Gi' } } },
    };
    for (const job of [
      senderJob(pvc, 'copy', 'h:2222', 's1', { secret: 'k', checksum: false }),
      receiverJob(pvc, 's1', { secret: 'k' }),
    ]) {
      const spec = job.spec!.template.spec!;
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.serviceAccountName).toBeUndefined();
      expect(spec.containers[0]!.command).toEqual(['scribe-mover']);
    }
  });
});

// What each role's code calls: replicator/src/kube.ts (get, list, create, merge
// patch, delete, pod logs) as owned.ts, source.ts, destination.ts, run.ts and
// recorder.ts use it; the finalizer (finalizer.ts) is a merge patch too.
const replicatorCluster: V1PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['persistentvolumeclaims'],
    verbs: ['list', 'create', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['services'], verbs: ['list', 'create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'list'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'create', 'delete'] },
  {
    apiGroups: ['snapshot.storage.k8s.io'],
    resources: ['volumesnapshots'],
    verbs: ['list', 'create', 'delete'],
  },
];
const replicatorLease: V1PolicyRule[] = [
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: ['scribe-replicator'],
    verbs: ['get', 'patch'],
  },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
];

describe('RBAC', () => {
  it("the replicator's roles are exactly what its code calls, the Lease only in Scribe's namespace", () => {
    expect(find<V1ClusterRole>(base, 'ClusterRole', 'scribe-replicator').rules).toEqual(
      replicatorCluster,
    );
    const role = find<V1Role>(base, 'Role', 'scribe-replicator');
    expect(role.metadata!.namespace).toBe(NS);
    expect(role.rules).toEqual(replicatorLease);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const b = find<V1ClusterRoleBinding>(base, kind, 'scribe-replicator');
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole',
        name: 'scribe-replicator',
      });
      expect(b.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'scribe-replicator', namespace: NS },
      ]);
    }
    // The Lease the code elects with is the one the Role names.
    const run = readFileSync(join(ROOT, 'replicator/src/run.ts'), 'utf8');
    expect(run).toMatch(/const leaseName = 'scribe-replicator';/);
  });

  it('nothing grantable, no wildcard, no Secret but the webhook CA; delete and update only where the replicator must', () => {
    for (const [b, objs] of built) {
      const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
      expect(roles.map((r) => `${r.kind}/${r.metadata.name}`).sort(), b).toEqual([
        'ClusterRole/scribe-replicator',
        'ClusterRole/scribe-webhook',
        'Role/scribe-replicator',
        'Role/scribe-webhook',
      ]);
      for (const r of roles as unknown as (V1ClusterRole & { kind: string })[]) {
        const id = `${b}: ${r.kind}/${r.metadata!.name}`;
        for (const rule of r.rules ?? []) {
          for (const field of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []])
            expect(field, id).not.toContain('*');
          for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection'])
            expect(rule.verbs, id).not.toContain(v);
          for (const res of rule.resources ?? []) {
            if (res === 'secrets') expect(r.metadata!.name, id).toBe('scribe-webhook');
            expect(res, id).not.toMatch(
              /^(roles|rolebindings|clusterroles|clusterrolebindings|serviceaccounts|nodes|pods\/exec|pods\/attach)$/,
            );
          }
          const destructive = rule.verbs.filter((v) => v === 'delete' || v === 'update');
          if (destructive.length > 0) {
            expect(`${r.kind}/${r.metadata!.name}`, id).toBe('ClusterRole/scribe-replicator');
            const allowed = rule.verbs.includes('update')
              ? ['persistentvolumeclaims']
              : ['persistentvolumeclaims', 'services', 'jobs', 'volumesnapshots'];
            for (const res of rule.resources ?? []) expect(allowed, id).toContain(res);
          }
        }
      }
    }
  });
});

describe('the image reference', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'scribe-manifests-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("every container, the injected sidecar and the movers use the release's tag, which is the package version", () => {
    for (const [b, objs] of built) {
      for (const c of containers(objs)) {
        expect(c.image, b).toBe(`${IMAGE}:${version}`);
        const env = (c.env ?? []).find((e) => e.name === 'SCRIBE_IMAGE');
        expect(env?.value, `${b}: ${c.name}`).toBe(c.image);
      }
      expect(
        containers(objs).map((c) => c.args?.find((a) => /^--(sidecar-)?image=/.test(a))),
      ).toEqual(
        expect.arrayContaining(['--sidecar-image=$(SCRIBE_IMAGE)', '--image=$(SCRIBE_IMAGE)']),
      );
    }
  });

  it("an overlay's images: (a mirror, a digest) reaches every reference, and leaves other images alone", () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    writeFileSync(
      join(tmp, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(tmp, join(MANIFESTS, 'overlays/kube-1.24-to-1.27'))}`,
        'images:',
        `  - name: ${IMAGE}`,
        '    newName: registry.example.com/mirror/scribe',
        `    digest: ${digest}`,
        '',
      ].join('\n'),
    );
    const objs = kustomize(tmp);
    const want = `registry.example.com/mirror/scribe@${digest}`;
    expect(containers(objs)).toHaveLength(2);
    for (const c of containers(objs)) {
      expect(c.image).toBe(want);
      expect(c.env?.find((e) => e.name === 'SCRIBE_IMAGE')?.value).toBe(want);
      expect(c.env?.filter((e) => e.value?.includes(want))).toHaveLength(1);
    }
    expect(JSON.stringify(objs)).not.toContain(IMAGE);
  });
});
