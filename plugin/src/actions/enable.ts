import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1StorageClass } from '@kubernetes/client-node';
import { renderPvcRef } from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { ApiError, isNotFound } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { renderObject } from '../output/format.ts';
import { defaultStorageClass } from '../plan/capabilities.ts';
import { parseTo, planEnable, type EnablePlan, type ServiceType } from '../plan/enable.ts';
import { executeEnable } from '../plan/execute-enable.ts';
import { managedBy, replicationNames, type KeyMaterial } from '../plan/objects.ts';
import { quiesceRbacName, quiesceRole, quiesceRoleBinding } from '../plan/quiesce-rbac.ts';
import { MOVER_IMAGE } from '../version.ts';
import { connect, connectContext } from './connect.ts';

export interface EnableFlags extends KubeFlagValues {
  to: string;
  method: string;
  schedule: string;
  'dest-storage-class'?: string | undefined;
  'dest-access-mode'?: string | undefined;
  'dest-capacity'?: string | undefined;
  'service-type'?: string | undefined;
  'endpoint-timeout'?: string | undefined;
  'skip-webhook-check'?: boolean;
  'quiesce-command'?: string | undefined;
  'unquiesce-command'?: string | undefined;
  'quiesce-container'?: string | undefined;
  'quiesce-timeout'?: string | undefined;
  'dry-run'?: boolean;
  output?: string | undefined;
}

/** A read that may find nothing: 404 is undefined, anything else an error. */
async function find<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A read that is only advisory: no permission gives undefined. */
async function advisory<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && (e.code === 403 || e.code === 404)) return undefined;
    throw e;
  }
}

async function sourceStorageClass(
  src: Cluster,
  name: string | undefined,
): Promise<V1StorageClass | undefined> {
  if (name === '') return undefined; // bound to a pre-provisioned volume: no class
  if (name !== undefined) return advisory(src.getStorageClass(name));
  const list = await advisory(src.listStorageClasses());
  return defaultStorageClass(list?.items ?? []);
}

/** Per-replication keys from the mover's own generator, read back and removed from disk. */
export async function generateKeyMaterial(comment: string): Promise<KeyMaterial> {
  const { generateKeys, keyFiles } = await import('../../../mover/src/keys.ts');
  const dir = await mkdtemp(join(tmpdir(), 'scribe-keys-'));
  try {
    await generateKeys(dir, comment);
    const read = (f: string) => readFile(join(dir, f), 'utf8');
    return {
      client: await read(keyFiles.client),
      clientPub: await read(keyFiles.clientPub),
      host: await read(keyFiles.host),
      hostPub: await read(keyFiles.hostPub),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function enablePvc(name: string, flags: EnableFlags): Promise<void> {
  const src = connect(flags);
  let dst: Cluster | undefined;
  try {
    const ns = src.namespace;
    const srcPvc = await src.getPvc(ns, name);
    const to = parseTo(flags.to, { namespace: ns, name });
    if (!to.ok) throw new CliError(to.message);
    dst =
      to.ref.context === src.context && !flags.cluster && !flags.user
        ? src
        : connectContext(flags, to.ref.context);
    const d = to.ref;
    const names = replicationNames(name, d.name);
    const [storageClass, snapshotClasses, webhookNames, srcSecret] = await Promise.all([
      sourceStorageClass(src, srcPvc.spec?.storageClassName),
      advisory(src.listVolumeSnapshotClasses()),
      advisory(src.webhookNames()),
      find(src.getSecret(ns, names.sourceSecret)),
    ]);
    const [dstPvc, dstSecret, deployment, service, dstClass, dstWebhooks] = await Promise.all([
      find(dst.getPvc(d.namespace, d.name)),
      find(dst.getSecret(d.namespace, names.destinationSecret)),
      find(dst.getDeployment(d.namespace, names.endpoint)),
      find(dst.getService(d.namespace, names.endpoint)),
      flags['dest-storage-class']
        ? find(dst.getStorageClass(flags['dest-storage-class']))
        : undefined,
      advisory(dst.webhookNames()),
    ]);
    const plan = planEnable({
      source: {
        context: src.context,
        pvc: srcPvc,
        storageClass,
        snapshotClasses,
        webhookNames,
        secret: srcSecret,
      },
      destination: {
        ref: d,
        sameCluster: src.rest.server.href === dst.rest.server.href,
        pvc: dstPvc,
        secret: dstSecret,
        deployment,
        service,
        storageClass: dstClass,
        webhookNames: dstWebhooks,
      },
      options: {
        method: flags.method,
        schedule: flags.schedule,
        destStorageClass: flags['dest-storage-class'],
        destAccessMode: flags['dest-access-mode'],
        destCapacity: flags['dest-capacity'],
        serviceType: flags['service-type'] as ServiceType | undefined,
        skipWebhookCheck: flags['skip-webhook-check'],
        image: MOVER_IMAGE,
        quiesce: {
          command: flags['quiesce-command'],
          unquiesceCommand: flags['unquiesce-command'],
          container: flags['quiesce-container'],
          timeout: flags['quiesce-timeout'],
        },
      },
    });
    for (const w of plan.warnings) process.stderr.write(`Warning: ${w}\n`);
    if (plan.errors.length) {
      throw new CliError(plan.errors.join('\nerror: '));
    }
    if (flags['dry-run']) {
      printDryRun(plan, flags.output);
      return;
    }
    process.stdout.write(`method ${plan.method}: ${plan.methodReason}\n`);
    // Ctrl-C undoes the run instead of leaving it half done.
    const interrupt = new AbortController();
    const onSignal = (sig: string) =>
      interrupt.abort(new CliError(`interrupted by ${sig}`, { exitCode: 130 }));
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    let result;
    try {
      result = await executeEnable(plan, src, dst, srcPvc, dstPvc, {
        generateKeys: generateKeyMaterial,
        endpointTimeoutMs: parseRequestTimeout(flags['endpoint-timeout'] ?? '2m') ?? 120_000,
        pollMs: Number(process.env.SCRIBE_POLL_MS) || 1000,
        signal: interrupt.signal,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
    const schedule =
      plan.sourceSpec.trigger.kind === 'manual'
        ? 'on demand (kubectl scribe sync)'
        : `on schedule "${plan.sourceSpec.trigger.cron}"`;
    process.stdout.write(
      result.changes.length === 0
        ? `persistentvolumeclaim/${name} unchanged: already replicating to ${renderPvcRef(d)}\n`
        : `persistentvolumeclaim/${name} protected: replicating to ${renderPvcRef(d)} through ${result.endpoint}, ${schedule}\n`,
    );
  } finally {
    src.close();
    if (dst && dst !== src) dst.close();
  }
}

function printDryRun(plan: EnablePlan, output: string | undefined): void {
  const s = plan.source;
  const d = plan.destination;
  const where = (c: string, n: string) => `(context ${c}, namespace ${n})`;
  const secretShape = (name: string, namespace: string, files: string[]) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...managedBy } },
    type: 'Opaque',
    stringData: Object.fromEntries(files.map((f) => [f, '<generated>'])),
  });
  const objects: { context: string; object: unknown; line: string }[] = [];
  if (plan.create.destinationPvc) {
    objects.push({
      context: d.context,
      object: plan.create.destinationPvc,
      line: `persistentvolumeclaim/${d.name} created (dry run) ${where(d.context, d.namespace)}`,
    });
  }
  if (plan.create.destinationSecret) {
    objects.push({
      context: d.context,
      object: secretShape(plan.names.destinationSecret, d.namespace, [
        'host_ed25519',
        'client_ed25519.pub',
      ]),
      line: `secret/${plan.names.destinationSecret} created (dry run) ${where(d.context, d.namespace)}`,
    });
  }
  if (plan.create.sourceSecret) {
    objects.push({
      context: s.context,
      object: secretShape(plan.names.sourceSecret, s.namespace, [
        'client_ed25519',
        'host_ed25519.pub',
      ]),
      line: `secret/${plan.names.sourceSecret} created (dry run) ${where(s.context, s.namespace)}`,
    });
  }
  if (plan.sourceSpec.quiesce) {
    for (const o of [quiesceRole(s.namespace), quiesceRoleBinding(s.namespace)])
      objects.push({
        context: s.context,
        object: o,
        line: `${String(o.kind).toLowerCase()}.rbac.authorization.k8s.io/${quiesceRbacName} created (dry run, unless present) ${where(s.context, s.namespace)}`,
      });
  }
  if (plan.create.deployment) {
    objects.push({
      context: d.context,
      object: plan.create.deployment,
      line: `deployment.apps/${plan.names.endpoint} created (dry run) ${where(d.context, d.namespace)}`,
    });
  }
  if (plan.create.service) {
    objects.push({
      context: d.context,
      object: plan.create.service,
      line: `service/${plan.names.endpoint} created (dry run) ${where(d.context, d.namespace)}`,
    });
  }
  if (output === 'json' || output === 'yaml') {
    process.stdout.write(
      renderObject(
        {
          apiVersion: 'v1',
          kind: 'List',
          metadata: { method: plan.method, methodReason: plan.methodReason },
          items: objects.map((o) => o.object),
        },
        output,
      ),
    );
    return;
  }
  process.stdout.write(`method ${plan.method}: ${plan.methodReason}\n`);
  if (plan.endpointBy === 'scribe') {
    process.stdout.write(
      `endpoint: run by Scribe's server in context ${d.context} (a ${plan.serviceType} Service)\n`,
    );
  }
  for (const o of objects) process.stdout.write(`${o.line}\n`);
  process.stdout.write(
    `persistentvolumeclaim/${d.name} annotated (dry run) ${where(d.context, d.namespace)}\n` +
      `persistentvolumeclaim/${s.name} annotated (dry run) ${where(s.context, s.namespace)}\n`,
  );
}
