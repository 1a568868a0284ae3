// The pure parts of install, uninstall and doctor, and the two edges that run
// here for real: kubectl kustomize rendering each build, and manifests
// extracted from a single executable's assets.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderSpec } from '../../model/src/index.ts';
import {
  admissionCheck,
  type Check,
  deploymentCheck,
  leaseCheck,
  rbacCheck,
  pluginPermissions,
  storageChecks,
  webhookTlsChecks,
} from '../../plugin/src/doctor/checks.ts';
import { chooseBuild, parseServerVersion } from '../../plugin/src/install/build.ts';
import {
  checkoutSource,
  extractAssets,
  type SeaAssets,
} from '../../plugin/src/install/manifests-source.ts';
import { probeResult, rolloutOf } from '../../plugin/src/install/readiness.ts';
import {
  prunable,
  refusal,
  removalOrder,
  replicatedClaims,
} from '../../plugin/src/install/removal.ts';
import { renderBuild } from '../../plugin/src/install/render.ts';
import {
  displayName,
  objectPath,
  type ManifestObject,
} from '../../plugin/src/install/resources.ts';
import { ApiError } from '../../plugin/src/kube/api-errors.ts';
import { createCertificateAuthority } from '../../webhook/src/tls-authority.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const repo = join(import.meta.dirname, '..', '..');

const v = (gitVersion: string, minor?: string) =>
  parseServerVersion({ major: '1', minor: minor ?? gitVersion.split('.')[1], gitVersion });

describe('the build for a server version', () => {
  it('is the old overlay before 1.28, the base after, delete-guard from 1.30', () => {
    expect(chooseBuild(v('v1.24.0'))).toMatchObject({
      resource: 'overlays/kube-1.24-to-1.27',
      deleteGuard: false,
    });
    expect(chooseBuild(v('v1.27.9'))).toMatchObject({ resource: 'overlays/kube-1.24-to-1.27' });
    expect(chooseBuild(v('v1.28.0'))).toMatchObject({ resource: 'base', deleteGuard: false });
    expect(chooseBuild(v('v1.29.3'))).toMatchObject({ resource: 'base', deleteGuard: false });
    expect(chooseBuild(v('v1.30.0-eks-1', '30+'))).toMatchObject({
      resource: 'base',
      deleteGuard: true,
    });
    expect(chooseBuild(v('v1.36.1'))).toMatchObject({ deleteGuard: true });
  });

  it('refuses servers older than 1.24 and says so', () => {
    expect(() => chooseBuild(v('v1.23.17'))).toThrow(
      /Kubernetes v1.23.17; Scribe supports 1.24 and newer/,
    );
    expect(() => parseServerVersion({})).toThrow(/cannot tell the server's Kubernetes version/);
  });
});

describe.skipIf(!hasKubectl)('rendering with kubectl kustomize', () => {
  const kinds = (objs: ManifestObject[]) => objs.map((o) => o.kind);
  it('renders each build from the checkout; 1.30 adds the admission policy', async () => {
    const root = checkoutSource().root;
    const old = await renderBuild(root, chooseBuild(v('v1.24.0')));
    const mid = await renderBuild(root, chooseBuild(v('v1.28.0')));
    const now = await renderBuild(root, chooseBuild(v('v1.30.0')));
    expect(kinds(old)).not.toContain('ValidatingAdmissionPolicy');
    expect(kinds(mid)).not.toContain('ValidatingAdmissionPolicy');
    expect(kinds(now)).toEqual(
      expect.arrayContaining(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']),
    );
    const webhook = (objs: ManifestObject[]) =>
      objs.find((o) => o.kind === 'ValidatingWebhookConfiguration') as unknown as {
        webhooks: { matchConditions?: unknown; failurePolicy: string }[];
      };
    expect(webhook(old).webhooks[0]!.matchConditions).toBeUndefined();
    expect(webhook(mid).webhooks[0]!.matchConditions).toBeDefined();
    // Every object lives at a path the table knows, and carries the label uninstall selects.
    for (const o of now) {
      expect(objectPath(o)).toMatch(/^\/apis?\//);
      expect(o.metadata.labels?.['app.kubernetes.io/name'], displayName(o)).toBe('scribe');
    }
  });

  it("renders from a single executable's assets the same objects as from the checkout", async () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(join(repo, 'manifests'));
    // node:sea's interface over the files, as the release embeds them (keys "manifests/...").
    const sea: SeaAssets = {
      isSea: () => true,
      getAssetKeys: () => [...files.map((f) => relative(repo, f)), 'other/asset'],
      getAsset: (k) => {
        const b = readFileSync(join(repo, k));
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      },
    };
    const src = await extractAssets(sea);
    try {
      expect(src.origin).toBe('embedded');
      const build = chooseBuild(v('v1.30.0'));
      expect(await renderBuild(src.root, build)).toEqual(await renderBuild(repo, build));
    } finally {
      await src.release();
    }
    expect(() => statSync(src.root)).toThrow();
  });
});

describe('embedded assets', () => {
  const sea = (keys: string[]): SeaAssets => ({
    isSea: () => true,
    getAssetKeys: () => keys,
    getAsset: () => new ArrayBuffer(1),
  });
  it('refuses an executable without manifests, and keys that leave the directory', async () => {
    await expect(extractAssets(sea(['other/x']))).rejects.toThrow(/carries no manifests/);
    await expect(extractAssets(sea(['manifests/../../etc/x']))).rejects.toThrow(
      /not a path below manifests/,
    );
  });
});

describe('readiness', () => {
  const d = (spec: number, status: object, generation = 1) => ({
    metadata: { name: 'scribe-webhook', generation },
    spec: { replicas: spec, selector: {}, template: {} },
    status: { observedGeneration: 1, ...status },
  });
  it('reads a rollout as kubectl rollout status does', () => {
    expect(rolloutOf(d(2, {}, 2)).line).toMatch(/spec update to be observed/);
    expect(rolloutOf(d(2, { updatedReplicas: 1, replicas: 1 })).line).toMatch(
      /1 out of 2 new replicas/,
    );
    expect(rolloutOf(d(2, { updatedReplicas: 2, replicas: 3, availableReplicas: 2 })).line).toMatch(
      /1 old replicas/,
    );
    expect(rolloutOf(d(2, { updatedReplicas: 2, replicas: 2, availableReplicas: 1 })).done).toBe(
      false,
    );
    expect(rolloutOf(d(2, { updatedReplicas: 2, replicas: 2, availableReplicas: 2 })).done).toBe(
      true,
    );
    expect(rolloutOf(d(0, {})).line).toMatch(/scaled to 0/);
  });

  it('tells an answering webhook from one never called or unreachable', () => {
    const w = 'replication-spec.scribe.backube.io';
    expect(
      probeResult(
        w,
        new ApiError(`admission webhook "${w}" denied the request: invalid`, 400, undefined),
      ).state,
    ).toBe('answering');
    expect(probeResult(w, { metadata: {} }).state).toBe('not-called');
    expect(
      probeResult(
        w,
        new ApiError(
          `Internal error occurred: failed calling webhook "${w}": connection refused`,
          500,
          undefined,
        ),
      ).state,
    ).toBe('unreachable');
    expect(probeResult(w, new ApiError('forbidden', 403, undefined)).state).toBe('unknown');
  });
});

describe('uninstall decisions', () => {
  const pvc = (name: string, annotations: Record<string, string>) => ({
    metadata: { name, namespace: 'shop', annotations },
  });
  it('finds replicated claims and names the command that disables each', () => {
    const claims = replicatedClaims([
      pvc('plain', {}),
      pvc(
        'dst',
        renderSpec({
          role: 'destination',
          source: { context: 'a', namespace: 'b', name: 'c' },
          secret: 's',
          snapshotsToKeep: 1,
          serviceType: 'ClusterIP',
        }),
      ),
      pvc('broken', { 'scribe.backube.io/replication': 'source' }),
    ]);
    expect(claims.map((c) => `${c.name}:${c.role}`)).toEqual([
      'dst:destination',
      'broken:invalid spec',
    ]);
    const { table, message } = refusal(claims, 'prod');
    expect(message).toContain('2 PVCs are still replicated in context "prod"');
    expect(message).toContain('--force');
    expect(message).not.toContain('\n');
    expect(table).toContain('kubectl scribe disable pvc broken -n shop --context prod');
    expect(table).toContain('shop/dst   destination: disable its source');
  });

  it('removes the webhook configurations first and cluster RBAC last', () => {
    const o = (kind: string, namespace?: string): ManifestObject => ({
      apiVersion: 'x/v1',
      kind,
      metadata: { name: kind, ...(namespace ? { namespace } : {}) },
    });
    const order = removalOrder([
      o('ClusterRole'),
      o('Namespace'),
      o('Deployment', 'scribe-system'),
      o('ValidatingWebhookConfiguration'),
      o('ValidatingAdmissionPolicyBinding'),
    ]);
    expect(order.map((x) => x.kind)).toEqual([
      'ValidatingWebhookConfiguration',
      'ValidatingAdmissionPolicyBinding',
      'Deployment',
      'Namespace',
      'ClusterRole',
    ]);
  });
});

describe('pruning on upgrade', () => {
  it('deletes only what install applied before and the build no longer holds', () => {
    const o = (kind: string, name: string, manager?: string): ManifestObject => ({
      apiVersion: 'v1',
      kind,
      metadata: {
        name,
        namespace: 'scribe-system',
        ...(manager ? { managedFields: [{ manager, operation: 'Apply' }] } : {}),
      },
    });
    const rendered = [o('Service', 'scribe-webhook')];
    const found = [
      o('Service', 'scribe-webhook', 'kubectl-scribe'),
      o('ConfigMap', 'dropped', 'kubectl-scribe'),
      o('Secret', 'scribe-webhook-ca', 'scribe-webhook'),
      o('ConfigMap', 'unmanaged'),
    ];
    expect(prunable(found, rendered, 'kubectl-scribe').map((x) => x.metadata.name)).toEqual([
      'dropped',
    ]);
  });
});

describe('doctor verdicts', () => {
  const ca = createCertificateAuthority('scribe-webhook-ca', { validityDays: 40 });
  const other = createCertificateAuthority('someone-else', { validityDays: 40 });
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const cfg = (bundle: string | undefined) =>
    ({ webhooks: [{ name: 'w', clientConfig: bundle ? { caBundle: bundle } : {} }] }) as never;
  const facts = (bundle: string | undefined, secret: string | undefined, days = 0) => ({
    namespace: 'scribe-system',
    validating: cfg(bundle),
    mutating: cfg(bundle),
    caSecretCert: secret,
    caSecretName: 'scribe-webhook-ca',
    now: new Date(Date.now() + days * 86_400_000),
  });
  const by = (checks: Check[], name: string) => checks.find((c) => c.name === name);

  it("checks caBundle against the webhook's CA and the CA's expiry", () => {
    const good = webhookTlsChecks(facts(b64(ca.certPem), b64(ca.certPem)));
    expect(good.map((c) => c.status)).toEqual(['OK', 'OK', 'OK']);
    expect(
      by(webhookTlsChecks(facts(b64(other.certPem), b64(ca.certPem))), 'ca-bundle'),
    ).toMatchObject({
      status: 'FAIL',
      fix: expect.stringContaining('rollout restart deployment/scribe-webhook'),
    });
    expect(by(webhookTlsChecks(facts(undefined, b64(ca.certPem))), 'ca-bundle')?.status).toBe(
      'FAIL',
    );
    expect(
      by(webhookTlsChecks(facts(b64(ca.certPem), b64(ca.certPem), 20)), 'webhook-ca'),
    ).toMatchObject({ status: 'WARN', message: expect.stringMatching(/expires in 1\d days/) });
    expect(
      by(webhookTlsChecks(facts(b64(ca.certPem), b64(ca.certPem), 41)), 'webhook-ca'),
    ).toMatchObject({ status: 'FAIL', message: expect.stringContaining('expired') });
    expect(
      webhookTlsChecks({ ...facts(undefined, undefined), validating: undefined })[0],
    ).toMatchObject({ status: 'FAIL', fix: 'kubectl scribe install' });
  });

  it('wants a replicator lease that is held and renewed', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    const lease = (renew: string) => ({
      spec: {
        holderIdentity: 'scribe-replicator-abc',
        leaseDurationSeconds: 15,
        renewTime: new Date(renew),
      },
    });
    expect(leaseCheck('ns', undefined, now)).toMatchObject({
      status: 'FAIL',
      message: expect.stringContaining('nothing drives syncs'),
    });
    expect(leaseCheck('ns', lease('2026-12-06T11:59:55Z'), now)).toMatchObject({
      status: 'OK',
      message: 'held by scribe-replicator-abc, renewed 5s ago',
    });
    expect(leaseCheck('ns', lease('2026-12-06T11:58:00Z'), now)).toMatchObject({
      status: 'FAIL',
      message: expect.stringContaining('last renewed 120s ago (lease 15s)'),
    });
  });

  it('judges Deployments, the admission probe, storage and RBAC', () => {
    const dep = (replicas: number, available: number) => ({
      spec: { replicas, selector: { matchLabels: { a: 'b' } }, template: {} },
      status: { availableReplicas: available },
    });
    expect(deploymentCheck('ns', 'w', undefined).fix).toBe('kubectl scribe install');
    expect(deploymentCheck('ns', 'w', dep(2, 1)).status).toBe('WARN');
    expect(deploymentCheck('ns', 'w', dep(2, 0))).toMatchObject({
      status: 'FAIL',
      fix: 'kubectl -n ns describe pods -l a=b',
    });
    expect(admissionCheck({ state: 'unreachable', detail: 'x' }, 'ns', true).status).toBe('FAIL');
    expect(admissionCheck({ state: 'not-called', detail: 'x' }, 'ns', false).fix).toBe(
      'kubectl scribe install',
    );
    const sc = (name: string, provisioner: string) => ({ metadata: { name }, provisioner });
    const storage = storageChecks({
      snapshotApi: true,
      snapshotClasses: [{ metadata: { name: 'snap' }, driver: 'csi.a' }],
      storageClasses: [
        sc('fast', 'csi.a'),
        sc('old', 'kubernetes.io/aws-ebs'),
        sc('ghost', 'csi.b'),
      ],
      csiDrivers: ['csi.a'],
    });
    expect(by(storage, 'storageclass/fast')).toMatchObject({
      status: 'OK',
      message: expect.stringContaining('clone, snapshot, live'),
    });
    expect(by(storage, 'storageclass/old')).toMatchObject({
      status: 'WARN',
      message: expect.stringContaining('live only'),
    });
    expect(by(storage, 'storageclass/ghost')?.message).toContain('no CSIDriver object names csi.b');
    expect(
      by(
        storageChecks({
          snapshotApi: false,
          snapshotClasses: [],
          storageClasses: [],
          csiDrivers: undefined,
        }),
        'snapshot-api',
      )?.status,
    ).toBe('FAIL');
    const perms = pluginPermissions('shop');
    expect(
      rbacCheck(
        'shop',
        'prod',
        perms.map((p) => ({ p, allowed: true })),
      ).status,
    ).toBe('OK');
    const denied = rbacCheck(
      'shop',
      'prod',
      perms.map((p) => ({ p, allowed: p.verb === 'list' })),
    );
    expect(denied.status).toBe('FAIL');
    expect(denied.message).toContain('create secrets');
    expect(rbacCheck('shop', 'prod', new Error('nope')).status).toBe('WARN');
  });
});
