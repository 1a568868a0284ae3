// `kubectl scribe migrate pvc`: move an application's data to another PVC
// (another cluster, namespace or StorageClass) with little downtime. Syncs run
// while the application runs, until one moves little; the cutover then stops
// the workloads that mount the claim, makes a final sync that compares
// contents, hands the destination over (failover) and reports the downtime.
import {
  drKeys,
  parseSpec,
  parseStatus,
  renderPvcRef,
  specKeys,
} from '../../../model/src/index.ts';
import { confirm } from '../cli/confirm.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { humanBytes } from '../output/table.ts';
import { parseTo } from '../plan/enable.ts';
import {
  converged,
  humanDuration,
  migrationRecord,
  workloadsUsing,
  type ScaledWorkload,
} from '../plan/migrate.ts';
import { runningUsers } from '../plan/pods.ts';
import { parseQuantity } from '../plan/quantity.ts';
import { connect } from './connect.ts';

export interface MigrateFlags extends KubeFlagValues {
  to?: string | undefined;
  'dest-storage-class'?: string | undefined;
  'service-type'?: string | undefined;
  'endpoint-timeout'?: string | undefined;
  'skip-webhook-check'?: boolean;
  'max-delta'?: string | undefined;
  'max-rounds'?: number | undefined;
  cutover?: boolean;
  rollback?: boolean;
  yes?: boolean;
  'dry-run'?: boolean;
  timeout?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;
const resource = (w: { kind: string; name: string }) => `${w.kind.toLowerCase()}.apps/${w.name}`;

function kubeOnly(flags: MigrateFlags): KubeFlagValues {
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    cluster: flags.cluster,
    user: flags.user,
    namespace: flags.namespace,
    'request-timeout': flags['request-timeout'],
  };
}

/** One sync, waited for; returns the bytes it moved. */
async function syncOnce(c: Cluster, name: string, flags: MigrateFlags): Promise<number> {
  const { syncPvc } = await import('./sync.ts');
  await syncPvc(name, { ...kubeOnly(flags), wait: true, timeout: flags.timeout ?? '30m' });
  return parseStatus((await c.getPvc(c.namespace, name)).metadata?.annotations).lastSyncBytes ?? 0;
}

export async function migratePvc(name: string, flags: MigrateFlags): Promise<void> {
  if (flags.rollback) return rollback(name, flags);
  if (!flags.to) {
    throw new CliError(
      'required flag --to not given: name the destination, CONTEXT[/NAMESPACE[/PVC]]',
    );
  }
  const maxDelta = parseQuantity(flags['max-delta'] ?? '64Mi');
  if (maxDelta === undefined) {
    throw new CliError(`invalid --max-delta "${flags['max-delta']}": use a quantity such as 64Mi`);
  }
  const rounds = flags['max-rounds'] ?? 10;
  const src = connect(flags);
  const ns = src.namespace;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const deadline = Date.now() + (parseRequestTimeout(flags.timeout ?? '30m') ?? Infinity);
  try {
    const claim = await src.getPvc(ns, name);
    const record = migrationRecord(claim.metadata?.annotations);
    if (record.migratedTo) {
      say(
        `persistentvolumeclaim/${name} unchanged: migrated to ${record.migratedTo} at ${record.migratedAt ?? 'an earlier run'}`,
      );
      return;
    }
    const to = parseTo(flags.to, { namespace: ns, name });
    if (!to.ok) throw new CliError(to.message);
    const dst = to.ref;
    const spec = parseSpec(claim.metadata?.annotations).spec;
    if (spec?.role === 'destination') {
      throw new CliError(
        `persistentvolumeclaim "${name}" is a replication destination: migrate its source, ${renderPvcRef(spec.source)}`,
      );
    }
    if (spec?.role === 'source' && renderPvcRef(spec.destination) !== renderPvcRef(dst)) {
      throw new CliError(
        `persistentvolumeclaim "${name}" already replicates to ${renderPvcRef(spec.destination)}: migrate to it (--to ${renderPvcRef(spec.destination)}), or disable that replication first`,
      );
    }
    const workloads = workloadsUsing(
      name,
      (await src.listPods(ns, '')).items,
      (await src.listReplicaSets(ns)).items,
    );
    if (flags['dry-run']) {
      if (spec?.role !== 'source')
        say(`replication to ${renderPvcRef(dst)} enabled (dry run), syncs on request`);
      say(
        `syncs while the application runs, until one moves at most ${humanBytes(maxDelta)} (at most ${rounds}) (dry run)`,
      );
      if (flags.cutover) {
        for (const w of workloads) say(`${resource(w)} scaled to 0 (dry run)`);
        say(
          `final sync comparing contents, then persistentvolumeclaim/${dst.name} handed over in context ${dst.context} (dry run)`,
        );
      }
      return;
    }
    if (spec?.role !== 'source') {
      const { enablePvc } = await import('./enable.ts');
      await enablePvc(name, {
        ...kubeOnly(flags),
        to: [flags.to],
        method: 'auto',
        schedule: ['manual'],
        'dest-storage-class': flags['dest-storage-class'],
        'service-type': flags['service-type'],
        'endpoint-timeout': flags['endpoint-timeout'],
        'skip-webhook-check': flags['skip-webhook-check'],
      });
    }

    if (!record.scaled) {
      // Background syncs: each moves what changed since the one before.
      let moved: number | undefined;
      for (let i = 1; i <= rounds && !converged(moved, maxDelta); i++) {
        moved = await syncOnce(src, name, flags);
        say(`round ${i}: the sync moved ${humanBytes(moved)}`);
      }
      if (!converged(moved, maxDelta)) {
        const why = `after ${rounds} syncs the last still moved ${humanBytes(moved ?? 0)}, more than --max-delta ${humanBytes(maxDelta)}`;
        if (!flags.cutover) {
          throw new CliError(
            `${why}: the application writes faster than the syncs catch up. Run again, raise --max-delta, or cut over anyway with --cutover (a longer downtime)`,
          );
        }
        process.stderr.write(`Warning: ${why}; cutting over anyway, the final sync takes longer\n`);
      }
      if (!flags.cutover) {
        say(
          `persistentvolumeclaim/${name} is ready to cut over: the last sync moved ${humanBytes(moved ?? 0)}. ` +
            `Run kubectl scribe migrate pvc ${name} --to ${flags.to} --cutover to stop ${workloads.map(resource).join(', ') || 'its workloads'}, make the final sync and hand over`,
        );
        return;
      }
    }

    // The cutover. What it scales down is recorded first, so that a cut-off
    // run goes on where it stopped and --rollback can undo it.
    let scaled = record.scaled;
    if (!scaled) {
      await confirm(
        `Cutover stops ${workloads.map(resource).join(', ') || 'nothing (no workload mounts the claim)'} in context ${src.context} until the application runs on ${renderPvcRef(dst)}. Continue?`,
        flags.yes,
        'Or leave out --cutover to keep syncing in the background.',
      );
      scaled = [];
      for (const w of workloads) {
        scaled.push({ ...w, replicas: await src.getReplicas(ns, w.kind, w.name) });
      }
      await src.annotatePvc(ns, name, { [drKeys.migrationScaled]: JSON.stringify(scaled) });
    }
    const stoppedAt = Date.now();
    for (const w of scaled) {
      await src.setReplicas(ns, w.kind, w.name, 0);
      say(`${resource(w)} scaled to 0 (was ${w.replicas})`);
    }
    for (;;) {
      const left = runningUsers((await src.listPods(ns, '')).items, name);
      if (!left.length) break;
      if (Date.now() + pollMs > deadline) {
        throw new CliError(
          `pod(s) ${left.map((p) => p.metadata?.name).join(', ')} still use persistentvolumeclaim "${name}": the cutover waits for them; run it again once they are gone, or undo it with --rollback`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    // The final sync compares contents, not only sizes and times.
    await src.annotatePvc(ns, name, { [specKeys.checksumEvery]: '1' });
    const finalBytes = await syncOnce(src, name, flags);
    say(`final sync: moved ${humanBytes(finalBytes)}, contents compared`);
    const { failoverPvc } = await import('./failover.ts');
    await failoverPvc(
      dst.name,
      {
        kubeconfig: flags.kubeconfig,
        context: dst.context,
        namespace: dst.namespace,
        'request-timeout': flags['request-timeout'],
        from: 'volume',
        yes: true,
        timeout: flags.timeout,
      },
      { afterFinalSync: true },
    );
    const downtime = Date.now() - stoppedAt;
    const { disablePvc } = await import('./disable.ts');
    await disablePvc(name, kubeOnly(flags));
    await src.annotatePvc(ns, name, {
      [drKeys.migratedTo]: renderPvcRef(dst),
      [drKeys.migratedAt]: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    say(
      `persistentvolumeclaim/${name} migrated to ${renderPvcRef(dst)}: downtime ${humanDuration(downtime)} (from stopping the workloads to the destination taking over)`,
    );
    say(
      `Start the application on persistentvolumeclaim/${dst.name} in context ${dst.context}, namespace ${dst.namespace}. ` +
        `Its workloads here stay at 0 replicas; kubectl scribe migrate pvc ${name} --rollback starts them again on the old data.`,
    );
  } finally {
    src.close();
  }
}

async function rollback(name: string, flags: MigrateFlags): Promise<void> {
  const src = connect(flags);
  const ns = src.namespace;
  try {
    const claim = await src.getPvc(ns, name);
    const record = migrationRecord(claim.metadata?.annotations);
    if (!record.scaled) {
      process.stdout.write(`persistentvolumeclaim/${name} unchanged: no cutover to roll back\n`);
      return;
    }
    if (record.migratedTo) {
      process.stderr.write(
        `Warning: what the application wrote on ${record.migratedTo} since the cutover stays there; it is not copied back\n`,
      );
    }
    if (flags['dry-run']) {
      for (const w of record.scaled)
        process.stdout.write(`${resource(w)} scaled to ${w.replicas} (dry run)\n`);
      return;
    }
    for (const w of record.scaled as ScaledWorkload[]) {
      await src.setReplicas(ns, w.kind, w.name, w.replicas);
      process.stdout.write(`${resource(w)} scaled to ${w.replicas}\n`);
    }
    await src.annotatePvc(ns, name, {
      [drKeys.migrationScaled]: null,
      [drKeys.migratedTo]: null,
      [drKeys.migratedAt]: null,
    });
    process.stdout.write(
      `persistentvolumeclaim/${name} rolled back: its workloads run on it again\n`,
    );
  } finally {
    src.close();
  }
}
