import type {
  V1Lease,
  V1MutatingWebhookConfiguration,
  V1Secret,
  V1StorageClass,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { KubeFlagValues } from '../cli/flags.ts';
import {
  admissionCheck,
  deploymentCheck,
  leaseCheck,
  pluginPermissions,
  rbacCheck,
  storageChecks,
  versionCheck,
  webhookTlsChecks,
  type Check,
} from '../doctor/checks.ts';
import { CliError } from '../errors.ts';
import { canI, getDeployment, getObject, probeWebhook, serverVersion } from '../install/api.ts';
import { scribeNamespace } from '../install/resources.ts';
import { chooseBuild, parseServerVersion, type Build } from '../install/build.ts';
import { isNotFound } from '../kube/api-errors.ts';
import type { KubeRest } from '../kube/rest.ts';
import { renderObject } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import { connect } from './connect.ts';

export interface DoctorFlags extends KubeFlagValues {
  output?: string | undefined;
}

const webhookName = 'replication-spec.scribe.backube.io';
const caSecretName = 'scribe-webhook-ca';

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function served(rest: KubeRest, path: string): Promise<boolean> {
  return (
    (await orUndefined(
      rest.request({ method: 'GET', path, intent: { verb: 'get', resource: path } }),
    )) !== undefined
  );
}

async function list<T>(rest: KubeRest, path: string, resource: string): Promise<T[] | undefined> {
  const l = await orUndefined(
    rest.request<{ items?: T[] }>({ method: 'GET', path, intent: { verb: 'list', resource } }),
  );
  return l ? (l.items ?? []) : undefined;
}

/** A check that could not run is a finding too, not a crash. */
async function guarded(name: string, run: () => Promise<Check[]>): Promise<Check[]> {
  try {
    return await run();
  } catch (e) {
    return [
      {
        name,
        status: 'WARN',
        message: `cannot check: ${(e as Error).message}`,
        fix: 'run doctor as a user who may read it',
      },
    ];
  }
}

export async function gatherChecks(rest: KubeRest, namespace: string, now = new Date()) {
  const ns = scribeNamespace;
  const checks: Check[] = [];
  // Unguarded: a server that does not answer /version cannot be checked at
  // all, and doctor says so as an error rather than a page of "cannot check".
  const v = parseServerVersion(await serverVersion(rest));
  let build: Build | Error;
  try {
    build = chooseBuild(v);
  } catch (e) {
    build = e as Error;
  }
  checks.push(versionCheck(v, build));
  for (const name of ['scribe-webhook', 'scribe-replicator']) {
    checks.push(
      ...(await guarded(`deployment/${name}`, async () => [
        deploymentCheck(ns, name, await getDeployment(rest, ns, name)),
      ])),
    );
  }
  checks.push(
    ...(await guarded('replicator-lease', async () => [
      leaseCheck(
        ns,
        await getObject<V1Lease>(rest, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'scribe-replicator', namespace: ns },
        }),
        now,
      ),
    ])),
  );
  checks.push(
    ...(await guarded('webhook-configurations', async () => {
      const cfg = (kind: string) => ({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind,
        metadata: { name: 'scribe-webhook' },
      });
      const [validating, mutating] = await Promise.all([
        getObject<V1ValidatingWebhookConfiguration>(rest, cfg('ValidatingWebhookConfiguration')),
        getObject<V1MutatingWebhookConfiguration>(rest, cfg('MutatingWebhookConfiguration')),
      ]);
      const secret = await getObject<V1Secret>(rest, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: caSecretName, namespace: ns },
      }).catch(() => undefined);
      return webhookTlsChecks({
        namespace: ns,
        validating,
        mutating,
        caSecretCert: secret?.data?.['ca.crt'],
        caSecretName,
        now,
      });
    })),
  );
  checks.push(
    ...(await guarded('admission', async () => [
      admissionCheck(
        await probeWebhook(rest, webhookName),
        ns,
        !checks.some((c) => c.fix === 'kubectl scribe install'),
      ),
    ])),
  );
  checks.push(
    ...(await guarded('storage', async () => {
      const snapshotApi = await served(rest, '/apis/snapshot.storage.k8s.io/v1');
      const snapshotClasses = snapshotApi
        ? ((await list<{ metadata: { name: string }; driver: string }>(
            rest,
            '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses',
            'volumesnapshotclasses.snapshot.storage.k8s.io',
          )) ?? [])
        : [];
      const storageClasses =
        (await list<V1StorageClass>(
          rest,
          '/apis/storage.k8s.io/v1/storageclasses',
          'storageclasses.storage.k8s.io',
        )) ?? [];
      const csiDrivers = (
        await list<{ metadata?: { name?: string } }>(
          rest,
          '/apis/storage.k8s.io/v1/csidrivers',
          'csidrivers.storage.k8s.io',
        )
      )?.map((d) => d.metadata?.name ?? '');
      return storageChecks({ snapshotApi, snapshotClasses, storageClasses, csiDrivers });
    })),
  );
  const perms = pluginPermissions(namespace);
  let answers: { p: (typeof perms)[number]; allowed: boolean }[] | Error;
  try {
    answers = await Promise.all(
      perms.map(async (p) => ({ p, allowed: (await canI(rest, p)).allowed })),
    );
  } catch (e) {
    answers = isNotFound(e)
      ? new Error('the server does not serve SelfSubjectAccessReview')
      : (e as Error);
  }
  checks.push(rbacCheck(namespace, rest.context, answers));
  return checks;
}

export async function doctor(flags: DoctorFlags): Promise<void> {
  const cluster = connect(flags);
  try {
    const checks = await gatherChecks(cluster.rest, cluster.namespace);
    const failed = checks.filter((c) => c.status === 'FAIL');
    const out = flags.output;
    if (out === 'json' || out === 'yaml') {
      process.stdout.write(
        renderObject(
          {
            context: cluster.context,
            healthy: failed.length === 0,
            checks,
          },
          out,
        ),
      );
    } else {
      process.stdout.write(
        renderTable(
          checks,
          [
            { header: 'check', value: (c) => c.name },
            { header: 'status', value: (c) => c.status },
            { header: 'message', value: (c) => c.message },
            { header: 'fix', value: (c) => c.fix ?? '', wide: true },
          ],
          out === 'wide',
        ),
      );
      const fixes = checks.filter((c) => c.fix);
      if (fixes.length && out !== 'wide') {
        process.stdout.write(
          `\nTo fix:\n${fixes.map((c) => `  ${c.name}: ${c.fix}`).join('\n')}\n`,
        );
      }
    }
    if (failed.length) {
      throw new CliError(
        `${failed.length} of ${checks.length} checks failed in context "${cluster.context}": ${failed.map((c) => c.name).join(', ')}`,
      );
    }
  } finally {
    cluster.close();
  }
}
