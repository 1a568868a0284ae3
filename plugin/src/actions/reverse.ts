// `kubectl scribe reverse pvc`: after a failover, replicate the application's
// claim at this site back to the primary's old claim, reusing its volume so
// that only the differences cross.
import type { V1Pod } from '@kubernetes/client-node';
import { renderPvcRef, type PvcRef } from '../../../model/src/index.ts';
import { confirm } from '../cli/confirm.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { gone } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { parseTo } from '../plan/enable.ts';
import { applicationUsers } from '../plan/pods.ts';
import { failedOverFrom, planReverse } from '../plan/reverse.ts';
import { connect, connectContext } from './connect.ts';
import { enablePvc } from './enable.ts';

/** enable's default, for a reverse with no old schedule to reuse. */
export const defaultSchedule = '*/15 * * * *';

export interface ReverseFlags extends KubeFlagValues {
  to?: string | undefined;
  method?: string | undefined;
  schedule?: string | undefined;
  'service-type'?: string | undefined;
  'endpoint-timeout'?: string | undefined;
  'skip-webhook-check'?: boolean;
  yes?: boolean;
  'dry-run'?: boolean;
}

export async function reversePvc(name: string, flags: ReverseFlags): Promise<void> {
  const here = connect(flags);
  const ns = here.namespace;
  let there: Cluster | undefined;
  let target: PvcRef | undefined;
  let schedule: string | undefined;
  try {
    const claim = await here.findPvc(ns, name);
    if (flags.to) {
      const to = parseTo(flags.to, { namespace: ns, name });
      if (!to.ok) throw new CliError(to.message);
      target = to.ref;
    } else {
      target = failedOverFrom(claim);
    }
    let targetClaim;
    let users: V1Pod[] = [];
    if (claim && target) {
      there =
        target.context === here.context && !flags.cluster && !flags.user
          ? here
          : connectContext(flags, target.context);
      targetClaim = await there.findPvc(target.namespace, target.name);
      if (targetClaim)
        users = applicationUsers((await there.listPods(target.namespace, '')).items, target.name);
    }
    const plan = planReverse(
      {
        name,
        namespace: ns,
        context: here.context,
        to: target,
        now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      { claim, target: targetClaim, targetUsers: users },
    );
    if (plan.kind === 'done') {
      process.stdout.write(`${plan.message}\n`);
      return;
    }
    if (plan.kind === 'failback') {
      await failBack(name, plan.source, flags);
      return;
    }
    if (plan.trigger) schedule = plan.trigger.kind === 'manual' ? 'manual' : plan.trigger.cron;
    const t = plan.target;
    const where = `(context ${t.context}, namespace ${t.namespace})`;
    for (const w of plan.warnings) process.stderr.write(`Warning: ${w}\n`);
    if (plan.overwrites && !flags['dry-run']) {
      await confirm(
        `Reverse overwrites persistentvolumeclaim "${t.name}" ${where} with the data of persistentvolumeclaim "${name}" (context ${here.context}, namespace ${ns}). Continue?`,
        flags.yes,
        'Or name another destination with --to CONTEXT[/NAMESPACE[/PVC]].',
      );
    }
    if (plan.retire) {
      const { annotations, secret } = plan.retire;
      if (flags['dry-run']) {
        process.stdout.write(
          `persistentvolumeclaim/${t.name} annotated (dry run): its replication to ${renderPvcRef({ context: here.context, namespace: ns, name })} retired ${where}\n` +
            `secret/${secret} deleted (dry run) ${where}\n`,
        );
      } else {
        await there!.annotatePvc(t.namespace, t.name, annotations);
        process.stdout.write(
          `persistentvolumeclaim/${t.name} annotated: its replication to ${renderPvcRef({ context: here.context, namespace: ns, name })} retired ${where}\n`,
        );
        if (await gone(there!.deleteSecret(t.namespace, secret))) {
          process.stdout.write(`secret/${secret} deleted ${where}\n`);
        }
      }
    }
  } finally {
    here.close();
    if (there && there !== here) there.close();
  }
  // The usual enable, in the other direction; it reuses the old claim as is,
  // on the old replication's schedule unless --schedule says otherwise.
  await enablePvc(name, {
    ...flags,
    to: [renderPvcRef(target!)],
    method: flags.method ?? 'auto',
    schedule: [flags.schedule ?? schedule ?? defaultSchedule],
    'dry-run': flags['dry-run'],
  });
}

/**
 * This claim still receives from `source`: once the application there is
 * stopped, a final sync carries everything over, this claim is taken over as
 * it then is (complete: the sync succeeded), and replication turns around.
 */
async function failBack(name: string, source: PvcRef, flags: ReverseFlags): Promise<void> {
  const here = connect(flags);
  const where = `(context ${source.context}, namespace ${source.namespace})`;
  let there: Cluster | undefined;
  try {
    there = connectContext(flags, source.context);
    const users = applicationUsers((await there.listPods(source.namespace, '')).items, source.name);
    if (users.length) {
      throw new CliError(
        `persistentvolumeclaim "${source.name}" ${where} is in use by pod(s) ${users.map((p) => p.metadata?.name).join(', ')}: stop the application there first, so that the final sync carries everything it wrote`,
      );
    }
  } catch (e) {
    if (e instanceof CliError && e.message.includes('is in use by')) throw e;
    throw new CliError(
      `cannot reach ${renderPvcRef(source)} for the final sync (${(e as Error).message}); if that site is lost, fail over here instead: kubectl scribe failover pvc ${name} --context ${here.context} -n ${here.namespace}`,
    );
  } finally {
    here.close();
    if (there) there.close();
  }
  if (flags['dry-run']) {
    process.stdout.write(
      `final sync from ${renderPvcRef(source)} (dry run)\n` +
        `persistentvolumeclaim/${name} taken over as it is after that sync (dry run)\n` +
        `persistentvolumeclaim/${name} replicates to ${renderPvcRef(source)} (dry run)\n`,
    );
    return;
  }
  await confirm(
    `Fail back: a final sync from ${renderPvcRef(source)}, then persistentvolumeclaim "${name}" (context ${here.context}) is the application's and replicates to it. Continue?`,
    flags.yes,
    '',
  );
  const kube = {
    kubeconfig: flags.kubeconfig,
    'request-timeout': flags['request-timeout'],
  };
  const { syncPvc } = await import('./sync.ts');
  await syncPvc(source.name, {
    ...kube,
    context: source.context,
    namespace: source.namespace,
    wait: true,
    timeout: '30m',
  });
  const { failoverPvc } = await import('./failover.ts');
  await failoverPvc(name, { ...flags, from: 'volume', yes: true }, { afterFinalSync: true });
  await reversePvc(name, { ...flags, yes: true });
}
