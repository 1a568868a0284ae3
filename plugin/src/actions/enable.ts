import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import {
  defaultTarget,
  parseSpec,
  renderPvcRef,
  renderSpec,
  specPrefix,
  type ReadOnlyCopySpec,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { ApiError, isNotFound } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { renderObject } from '../output/format.ts';
import { defaultStorageClass } from '../plan/capabilities.ts';
import { planEnable, type EnablePlan, type ServiceType } from '../plan/enable.ts';
import { executeEnable } from '../plan/execute-enable.ts';
import { managedBy, replicationNames, type KeyMaterial } from '../plan/objects.ts';
import { quiesceRbacName, quiesceRole, quiesceRoleBinding } from '../plan/quiesce-rbac.ts';
import { planTargets, scheduleCountMessage, type TargetChoice } from '../plan/targets.ts';
import { MOVER_IMAGE } from '../version.ts';
import { connect, connectContext } from './connect.ts';

export interface EnableFlags extends KubeFlagValues {
  /** Each `[TARGET=]CONTEXT[/NAMESPACE[/PVC]]`. */
  to: string[];
  method: string;
  /** One for every --to, or one per --to in order. */
  schedule?: string[] | undefined;
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
  'read-only-copy'?: string | undefined;
  'read-only-copy-access-mode'?: string | undefined;
  'read-only-copy-storage-class'?: string | undefined;
  'scrub-image'?: string | undefined;
  'scrub-command'?: string | undefined;
  'scrub-timeout'?: string | undefined;
  'scrub-run-as-user'?: string | undefined;
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

/** The default schedule when no --schedule is given. */
export const defaultSchedule = '*/15 * * * *';

/**
 * Sets up every --to in turn, each as one target of the source: its keys,
 * destination volume and endpoint, then the source's keys for it. A failure
 * undoes that destination's steps; destinations set up before it stay (and
 * are named), so running the same command again finishes the job.
 */
export async function enablePvc(name: string, flags: EnableFlags): Promise<void> {
  // A count the flags alone get wrong is said before any cluster is asked.
  const schedules = flags.schedule?.length ?? 0;
  if (schedules > 1 && schedules !== flags.to.length) {
    throw new CliError(scheduleCountMessage(schedules, flags.to.length));
  }
  const src = connect(flags);
  try {
    const ns = src.namespace;
    let srcPvc = await src.getPvc(ns, name);
    const current = parseSpec(srcPvc.metadata?.annotations).spec;
    const chosen = planTargets(
      current?.role === 'source' ? current : undefined,
      flags.to,
      flags.schedule?.length ? flags.schedule : [defaultSchedule],
      { namespace: ns, name },
    );
    if (!chosen.ok) throw new CliError(chosen.message);
    const several = chosen.targets.length > 1;
    const done: string[] = [];
    const dryRuns: EnablePlan[] = [];
    for (const t of chosen.targets) {
      try {
        const plan = await enableTarget(src, srcPvc, t, flags, dryRuns.length === 0);
        if (flags['dry-run']) {
          dryRuns.push(plan);
          // The next destination is planned as if this one were written.
          srcPvc = withSourceSpec(srcPvc, plan);
        } else {
          srcPvc = await src.getPvc(ns, name);
        }
        done.push(renderPvcRef(t.ref));
      } catch (err) {
        if (several && done.length > 0 && !flags['dry-run'] && err instanceof CliError) {
          throw new CliError(
            `${err.message}\n(set up before this failure, and kept: ${done.join(', ')}; run the command again once the problem is fixed)`,
            { cause: err, exitCode: err.exitCode },
          );
        }
        throw err;
      }
    }
    if (flags['dry-run']) printDryRun(dryRuns, flags.output);
  } finally {
    src.close();
  }
}

/** The source PVC as it would be once `plan` was written (for a dry run's next destination). */
function withSourceSpec(pvc: V1PersistentVolumeClaim, plan: EnablePlan): V1PersistentVolumeClaim {
  const kept = Object.entries(pvc.metadata?.annotations ?? {}).filter(
    ([k]) => !k.startsWith(specPrefix),
  );
  return {
    ...pvc,
    metadata: {
      ...pvc.metadata,
      annotations: { ...Object.fromEntries(kept), ...renderSpec(plan.sourceSpec) },
    },
  };
}

async function enableTarget(
  src: Cluster,
  srcPvc: V1PersistentVolumeClaim,
  t: TargetChoice,
  flags: EnableFlags,
  firstOfRun: boolean,
): Promise<EnablePlan> {
  const name = srcPvc.metadata!.name!;
  const ns = src.namespace;
  const d = t.ref;
  const dst =
    d.context === src.context && !flags.cluster && !flags.user
      ? src
      : connectContext(flags, d.context);
  try {
    const names = replicationNames(name, d.name, t.name);
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
        schedule: t.schedule,
        destStorageClass: flags['dest-storage-class'],
        destAccessMode: flags['dest-access-mode'],
        destCapacity: flags['dest-capacity'],
        serviceType: flags['service-type'] as ServiceType | undefined,
        skipWebhookCheck: flags['skip-webhook-check'],
        image: MOVER_IMAGE,
        target: t.name,
        readOnlyCopy: {
          name: flags['read-only-copy'],
          accessMode: flags['read-only-copy-access-mode'],
          storageClass: flags['read-only-copy-storage-class'],
          scrubImage: flags['scrub-image'],
          scrubCommand: flags['scrub-command'],
          scrubTimeout: flags['scrub-timeout'],
          scrubRunAsUser: flags['scrub-run-as-user'],
        },
        quiesce: {
          command: flags['quiesce-command'],
          unquiesceCommand: flags['unquiesce-command'],
          container: flags['quiesce-container'],
          timeout: flags['quiesce-timeout'],
        },
      },
    });
    const which = t.name === defaultTarget ? '' : ` (target ${t.name})`;
    for (const w of plan.warnings) process.stderr.write(`Warning: ${w}\n`);
    if (plan.errors.length) {
      throw new CliError(plan.errors.join('\nerror: '));
    }
    if (flags['dry-run']) return plan;
    if (firstOfRun || t.name === defaultTarget) {
      process.stdout.write(`method ${plan.method}: ${plan.methodReason}\n`);
    }
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
      t.schedule === 'manual' ? 'on demand (kubectl scribe sync)' : `on schedule "${t.schedule}"`;
    process.stdout.write(
      result.changes.length === 0
        ? `persistentvolumeclaim/${name} unchanged: already replicating to ${renderPvcRef(d)}${which}\n`
        : `persistentvolumeclaim/${name} protected: replicating to ${renderPvcRef(d)}${which} through ${result.endpoint}, ${schedule}\n`,
    );
    const copy = plan.destinationSpec.readOnlyCopy;
    if (copy) process.stdout.write(`${readOnlyCopyLine(copy, d.context, d.namespace)}\n`);
    return plan;
  } finally {
    if (dst !== src) dst.close();
  }
}

function printDryRun(plans: EnablePlan[], output: string | undefined): void {
  const parts = plans.map(dryRunObjects);
  if (output === 'json' || output === 'yaml') {
    const first = plans[0]!;
    process.stdout.write(
      renderObject(
        {
          apiVersion: 'v1',
          kind: 'List',
          metadata: { method: first.method, methodReason: first.methodReason },
          items: parts.flatMap((p) => p.objects.map((o) => o.object)),
        },
        output,
      ),
    );
    return;
  }
  for (const [i, plan] of plans.entries()) {
    const s = plan.source;
    const d = plan.destination;
    const where = (c: string, n: string) => `(context ${c}, namespace ${n})`;
    if (i === 0) process.stdout.write(`method ${plan.method}: ${plan.methodReason}\n`);
    if (plan.target !== defaultTarget) process.stdout.write(`target ${plan.target}:\n`);
    if (plan.endpointBy === 'scribe') {
      process.stdout.write(
        `endpoint: run by Scribe's server in context ${d.context} (a ${plan.serviceType} Service)\n`,
      );
    }
    for (const o of parts[i]!.objects) process.stdout.write(`${o.line}\n`);
    const copy = plan.destinationSpec.readOnlyCopy;
    if (copy) process.stdout.write(`${readOnlyCopyLine(copy, d.context, d.namespace)} (dry run)\n`);
    process.stdout.write(
      `persistentvolumeclaim/${d.name} annotated (dry run) ${where(d.context, d.namespace)}\n` +
        `persistentvolumeclaim/${s.name} annotated (dry run) ${where(s.context, s.namespace)}\n`,
    );
  }
}

function dryRunObjects(plan: EnablePlan): {
  objects: { context: string; object: unknown; line: string }[];
} {
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
  return { objects };
}

/** What the destination's server will keep besides the replica. */
function readOnlyCopyLine(c: ReadOnlyCopySpec, context: string, namespace: string): string {
  const scrub = c.scrub ? `, after the scrub step (${c.scrub.image}) succeeds` : '';
  return `read-only copy: persistentvolumeclaim/${c.name} (${c.accessMode}, context ${context}, namespace ${namespace}) restored from each new snapshot${scrub}; see kubectl scribe status --context ${context} -n ${namespace} -o wide`;
}
