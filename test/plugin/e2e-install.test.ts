// kubectl scribe install, doctor and uninstall end to end: the real kubectl
// runs the plugin against a fresh stand-in cluster whose kubelet runs the
// manifests' Deployments (this checkout's webhook and replicator), and whose
// API server calls the registered webhooks as kube-apiserver does.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec } from '../../model/src/index.ts';
import type { Check } from '../../plugin/src/doctor/checks.ts';
import { createAdmissionChain } from '../standin/admission/chain.ts';
import { startCluster, type Cluster } from '../standin/cluster.ts';
import { waitFor } from '../standin/cluster-testing.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const pluginBin = join(import.meta.dirname, '..', '..', 'plugin', 'bin');

let c: Cluster;
let dir: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      program,
      args,
      { env, timeout: 120_000, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

const kubectl = (args: string[], input?: string) => run('kubectl', args, input);

const doctorJson = async (context = 'prod') => {
  const r = await kubectl(['scribe', 'doctor', '--context', context, '-o', 'json']);
  const report = JSON.parse(r.stdout) as { healthy: boolean; checks: Check[] };
  const by = (name: string) => report.checks.find((x) => x.name === name);
  return { ...r, report, by };
};

const deployment = (name: string): Promise<V1Deployment> =>
  c.clients.apps.readNamespacedDeployment({ name, namespace: 'scribe-system' });

describe.skipIf(!hasKubectl)(
  'kubectl scribe install / doctor / uninstall on a stand-in cluster',
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'scribe-install-e2e-'));
      c = await startCluster({
        name: 'prod',
        dir: join(dir, 'cluster'),
        admission: createAdmissionChain,
        log: () => undefined,
      });
      await c.api.writeKubeconfig(join(dir, 'prod.yaml'), 'prod');
      // The same cluster as a user who may only read.
      writeFileSync(
        join(dir, 'viewer.yaml'),
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [],
          users: [{ name: 'viewer', user: { token: c.api.readOnlyToken } }],
          contexts: [{ name: 'prod-viewer', context: { cluster: 'prod', user: 'viewer' } }],
        }),
      );
      env = {
        PATH: `${pluginBin}:${process.env.PATH}`,
        HOME: dir,
        KUBECONFIG: `${join(dir, 'prod.yaml')}:${join(dir, 'viewer.yaml')}`,
        SCRIBE_POLL_MS: '100',
      };
    }, 60_000);

    afterAll(async () => {
      await c?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('installs into a fresh cluster and waits until the webhook serves', async () => {
      const r = await kubectl(['scribe', 'install', '--context', 'prod', '--wait-timeout', '90s']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('Installing Scribe');
      expect(r.stderr).toContain('overlay kube-1.24-to-1.27');
      for (const o of [
        'namespace/scribe-system',
        'clusterrole.rbac.authorization.k8s.io/scribe-replicator',
        'deployment.apps/scribe-webhook',
        'poddisruptionbudget.policy/scribe-webhook',
        'validatingwebhookconfiguration.admissionregistration.k8s.io/scribe-webhook',
      ]) {
        expect(r.stdout).toContain(`${o} serverside-applied`);
      }
      expect(r.stdout).toMatch(/Scribe v\S+ installed in context "prod"/);
      for (const name of ['scribe-webhook', 'scribe-replicator']) {
        const d = await deployment(name);
        expect(d.status?.availableReplicas).toBe(2);
        expect(d.metadata?.managedFields?.some((m) => m.manager === 'kubectl-scribe')).toBe(true);
      }
      // The webhook made its CA and put it into caBundle; the API server trusts it
      // and calls it: a real (not dry-run) write of a bad spec is refused.
      const vwc = await c.clients.admission.readValidatingWebhookConfiguration({
        name: 'scribe-webhook',
      });
      expect(vwc.webhooks?.[0]?.clientConfig?.caBundle).toBeTruthy();
      const bad = await kubectl(
        ['--context', 'prod', 'create', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: 'bad',
            namespace: 'default',
            annotations: { 'scribe.backube.io/replication': 'sideways' },
          },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
        }),
      );
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain(
        'admission webhook "replication-spec.scribe.backube.io" denied the request',
      );
    }, 120_000);

    it('installs again as an idempotent upgrade: same pods, same CA', async () => {
      const pods = async () =>
        (await c.clients.core.listNamespacedPod({ namespace: 'scribe-system' })).items
          .map((p) => p.metadata?.uid)
          .sort();
      const before = await pods();
      const bundle = async () =>
        (await c.clients.admission.readValidatingWebhookConfiguration({ name: 'scribe-webhook' }))
          .webhooks?.[0]?.clientConfig?.caBundle;
      const caBefore = await bundle();
      // What an older release applied and this one no longer has, and an object
      // someone else made with Scribe's label: only the first is pruned.
      const configMap = (name: string) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name,
            namespace: 'scribe-system',
            labels: { 'app.kubernetes.io/name': 'scribe' },
          },
          data: { a: 'b' },
        });
      for (const [name, manager] of [
        ['scribe-dropped', 'kubectl-scribe'],
        ['notes', 'kubectl'],
      ] as const) {
        const a = await kubectl(
          ['--context', 'prod', 'apply', '--server-side', '--field-manager', manager, '-f', '-'],
          configMap(name),
        );
        expect(a.code, a.stderr).toBe(0);
      }
      const r = await kubectl(['scribe', 'install', '--context', 'prod']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/Upgrading Scribe \(running ghcr\.io\/backube\/scribe:\S+\) to v/);
      expect(r.stdout).toMatch(/upgraded in context "prod"/);
      expect(r.stdout).toContain('configmap/scribe-dropped pruned');
      expect(r.stdout).not.toContain('notes pruned');
      const cms = await c.clients.core.listNamespacedConfigMap({ namespace: 'scribe-system' });
      expect(cms.items.map((m) => m.metadata?.name)).toContain('notes');
      expect(cms.items.map((m) => m.metadata?.name)).not.toContain('scribe-dropped');
      // The webhook's own CA Secret (labelled, made by the webhook) stays.
      await c.clients.core.readNamespacedSecret({
        name: 'scribe-webhook-ca',
        namespace: 'scribe-system',
      });
      expect(await pods()).toEqual(before);
      expect(await bundle()).toBe(caBefore);
    }, 120_000);

    it('doctor is green on the installed cluster', async () => {
      const table = await kubectl(['scribe', 'doctor', '--context', 'prod']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/^CHECK\s+STATUS\s+MESSAGE$/m);
      expect(table.stdout).toMatch(/^admission\s+OK\s+/m);
      const { code, report, by } = await doctorJson();
      expect(code).toBe(0);
      expect(report.healthy).toBe(true);
      expect(report.checks.filter((x) => x.status === 'FAIL')).toEqual([]);
      for (const name of [
        'deployment/scribe-webhook',
        'deployment/scribe-replicator',
        'replicator-lease',
        'webhook-configurations',
        'ca-bundle',
        'webhook-ca',
        'admission',
        'snapshot-api',
        'volumesnapshotclasses',
        'storageclass/standin-csi',
        'rbac',
      ]) {
        expect(by(name)?.status, name).toBe('OK');
      }
      expect(by('ca-bundle')?.message).toContain('scribe-system/scribe-webhook-ca');
    }, 60_000);

    it('doctor says what a read-only user may not do', async () => {
      const { code, by } = await doctorJson('prod-viewer');
      expect(code).toBe(1);
      expect(by('rbac')?.status).toBe('FAIL');
      expect(by('rbac')?.message).toContain('create persistentvolumeclaims');
    }, 60_000);

    it('doctor on a server that does not answer is an error, not a page of unknowns', async () => {
      const dead = join(dir, 'dead.yaml');
      writeFileSync(
        dead,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'dead', cluster: { server: 'https://127.0.0.1:1' } }],
          users: [{ name: 'u', user: { token: 'x' } }],
          contexts: [{ name: 'dead', context: { cluster: 'dead', user: 'u' } }],
          'current-context': 'dead',
        }),
      );
      const r = await kubectl(['scribe', 'doctor', '--kubeconfig', dead]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('the connection to the server 127.0.0.1:1 was refused');
    });

    it('doctor is red while the webhook is scaled to zero, and install repairs it', async () => {
      const p = await kubectl([
        '--context',
        'prod',
        '-n',
        'scribe-system',
        'patch',
        'deployment',
        'scribe-webhook',
        '--type=merge',
        '-p',
        '{"spec":{"replicas":0}}',
      ]);
      expect(p.code, p.stderr).toBe(0);
      await waitFor('the webhook pods to go', async () => {
        const pods = await c.clients.core.listNamespacedPod({
          namespace: 'scribe-system',
          labelSelector: 'app.kubernetes.io/component=webhook',
        });
        return pods.items.length === 0 ? true : undefined;
      });
      const { code, stderr, report, by } = await doctorJson();
      expect(code).toBe(1);
      expect(report.healthy).toBe(false);
      expect(stderr).toMatch(
        /error: \d+ of \d+ checks failed in context "prod": .*deployment\/scribe-webhook/,
      );
      expect(by('deployment/scribe-webhook')).toMatchObject({
        status: 'FAIL',
        message: 'scaled to 0 replicas',
      });
      expect(by('deployment/scribe-webhook')?.fix).toContain('--replicas=2');
      // Before 1.28 the claim webhook fails open: the API server lets the bad claim through.
      expect(by('admission')?.status).toBe('FAIL');
      expect(by('deployment/scribe-replicator')?.status).toBe('OK');

      const r = await kubectl(['scribe', 'install', '--context', 'prod', '--wait-timeout', '90s']);
      expect(r.code, r.stderr).toBe(0);
      expect((await deployment('scribe-webhook')).spec?.replicas).toBe(2);
      expect((await doctorJson()).code).toBe(0);
    }, 180_000);

    it('doctor is red on a cluster without the snapshot CRDs, where install still works', async () => {
      const bare = await startCluster({
        name: 'bare',
        dir: join(dir, 'bare'),
        admission: createAdmissionChain,
        snapshotApi: false,
        log: () => undefined,
      });
      try {
        const kubeconfig = join(dir, 'bare.yaml');
        await bare.api.writeKubeconfig(kubeconfig, 'bare');
        const i = await kubectl(['scribe', 'install', '--kubeconfig', kubeconfig]);
        expect(i.code, i.stderr).toBe(0);
        const r = await kubectl(['scribe', 'doctor', '--kubeconfig', kubeconfig, '-o', 'json']);
        expect(r.code).toBe(1);
        const checks = (JSON.parse(r.stdout) as { checks: Check[] }).checks;
        expect(checks.find((x) => x.name === 'snapshot-api')).toMatchObject({
          status: 'FAIL',
          message: expect.stringContaining('cannot be a destination'),
          fix: expect.stringContaining('external-snapshotter'),
        });
        expect(checks.find((x) => x.name === 'volumesnapshotclasses')).toBeUndefined();
        expect(checks.find((x) => x.name === 'admission')?.status).toBe('OK');
        expect(r.stderr).toMatch(/checks failed in context "bare": snapshot-api$/m);
      } finally {
        await bare.stop();
      }
    }, 120_000);

    it('uninstall refuses while a PVC is replicated, asks on a terminal, and wants --yes without one', async () => {
      await c.clients.core.createNamespacedPersistentVolumeClaim({
        namespace: 'default',
        body: {
          metadata: {
            name: 'orders',
            annotations: renderSpec({
              role: 'destination',
              source: { context: 'elsewhere', namespace: 'shop', name: 'orders' },
              secret: 'scribe-orders',
              snapshotsToKeep: 2,
              serviceType: 'ClusterIP',
            }),
          },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Mi' } } },
        },
      });
      // The installed replicator (a pod of the manifests' Deployment) takes the
      // destination up: its endpoint Service appears.
      await waitFor(
        'the installed replicator to create the endpoint of default/orders',
        async () => {
          const svcs = await c.clients.core.listNamespacedService({
            namespace: 'default',
            labelSelector: 'scribe.backube.io/pvc=orders',
          });
          return svcs.items.length > 0 ? true : undefined;
        },
        60_000,
      );
      const refused = await kubectl(['scribe', 'uninstall', '--context', 'prod', '--yes']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('1 PVC is still replicated in context "prod"');
      expect(refused.stderr).toContain('default/orders   destination: disable its source');
      expect(refused.stderr).toContain('--force');
      const unconfirmed = await kubectl(['scribe', 'uninstall', '--context', 'prod', '--force']);
      expect(unconfirmed.code).toBe(1);
      expect(unconfirmed.stderr).toContain('This deletes, in context "prod"');
      expect(unconfirmed.stderr).toContain(
        'error: no terminal to ask for confirmation on: pass --yes to delete these',
      );
      // On a terminal (script(1) gives it one) it asks; anything but yes cancels.
      if (hasScript) {
        const asked = await run(
          'script',
          ['-qec', 'kubectl scribe uninstall --context prod --force', '/dev/null'],
          'n\n',
        );
        expect(asked.code).toBe(1);
        expect(asked.stdout).toContain('Remove Scribe? [y/N]');
        expect(asked.stdout).toContain('namespace/scribe-system');
        expect(asked.stdout).toContain('error: uninstall cancelled; nothing was deleted');
      }
      // Nothing was removed.
      expect((await deployment('scribe-webhook')).metadata?.name).toBe('scribe-webhook');
    }, 60_000);

    it('uninstall --force --yes removes everything install applied, and keeps the claims', async () => {
      const r = await kubectl(['scribe', 'uninstall', '--context', 'prod', '--force', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        'validatingwebhookconfiguration.admissionregistration.k8s.io/scribe-webhook deleted',
      );
      expect(r.stdout).toContain('namespace/scribe-system deleted');
      expect(r.stdout).toContain(
        'clusterrolebinding.rbac.authorization.k8s.io/scribe-replicator deleted',
      );
      expect(r.stderr).toContain('Warning: --force');
      // uninstall returns once the namespace is gone, as kubectl delete does.
      const ns = await c.clients.core.listNamespace();
      expect(ns.items.map((n) => n.metadata?.name)).not.toContain('scribe-system');
      const left = await kubectl([
        '--context',
        'prod',
        'get',
        'clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations',
        '-l',
        'app.kubernetes.io/name=scribe',
        '-o',
        'name',
      ]);
      expect(left.code, left.stderr).toBe(0);
      expect(left.stdout.trim()).toBe('');
      const pvc = await c.clients.core.readNamespacedPersistentVolumeClaim({
        name: 'orders',
        namespace: 'default',
      });
      expect(pvc.metadata?.annotations?.['scribe.backube.io/replication']).toBe('destination');
      const again = await kubectl(['scribe', 'uninstall', '--context', 'prod', '--force', '--yes']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to remove');
      const { code, by } = await doctorJson();
      expect(code).toBe(1);
      expect(by('deployment/scribe-webhook')?.fix).toBe('kubectl scribe install');
    }, 120_000);
  },
);
