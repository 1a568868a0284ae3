// `kubectl scribe failover pvc`: carries out the plan at the DR site, talking
// only to the DR cluster (the primary may be gone), and says what it did.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  components,
  componentLabel,
  componentSelector,
  disableAnnotationsPatch,
  drKeys,
  pvcLabel,
  pvcLabelValue,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { confirm } from '../cli/confirm.ts';
import { CliError } from '../errors.ts';
import { gone, isAlreadyExists } from '../kube/api-errors.ts';
import type { Cluster } from '../kube/cluster.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import {
  destinationSelectors,
  planFailover,
  type FailoverData,
  type FailoverSteps,
} from '../plan/failover.ts';
import { replicationNames } from '../plan/objects.ts';
import { mounts, podNames, runningUsers, stillRuns } from '../plan/pods.ts';
import { connect } from './connect.ts';

export interface FailoverFlags extends KubeFlagValues {
  from?: string | undefined;
  snapshot?: string | undefined;
  as?: string | undefined;
  'dry-run'?: boolean;
  yes?: boolean;
  timeout?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;

/** Polls until `check` gives undefined, or fails with what it last gave. */
async function waitUntil(
  deadline: number,
  check: () => Promise<string | undefined>,
): Promise<void> {
  for (;;) {
    const blocker = await check();
    if (blocker === undefined) return;
    if (Date.now() + pollMs > deadline) throw new CliError(blocker);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Everything that lets the source write into the destination: receivers, endpoints, keys. */
async function stopReceiving(
  c: Cluster,
  ns: string,
  name: string,
  plan: FailoverSteps,
  say: (line: string) => void,
  deadline: number,
): Promise<void> {
  const sel = destinationSelectors(name);
  // A server pass that read the claim before its spec was removed may still
  // start a receiver: deleting them is repeated until none is left (below).
  const deleteReceivers = async () => {
    for (const job of (await c.listJobs(ns, sel.receivers)).items) {
      if (job.metadata?.deletionTimestamp) continue;
      if (await gone(c.deleteJob(ns, job.metadata!.name!)))
        say(`job.batch/${job.metadata!.name} deleted`);
    }
  };
  await deleteReceivers();
  for (const svc of (await c.listServicesSelected(ns, sel.endpoints)).items) {
    if (await gone(c.deleteService(ns, svc.metadata!.name!)))
      say(`service/${svc.metadata!.name} deleted`);
  }
  if (plan.pluginEndpoint !== undefined) {
    // An endpoint the plugin ran itself (no in-cluster server).
    const endpoint = replicationNames(plan.pluginEndpoint, name).endpoint;
    if (await gone(c.deleteDeployment(ns, endpoint))) say(`deployment.apps/${endpoint} deleted`);
    if (await gone(c.deleteService(ns, endpoint))) say(`service/${endpoint} deleted`);
  }
  if (plan.secret && (await gone(c.deleteSecret(ns, plan.secret))))
    say(`secret/${plan.secret} deleted`);
  // Nothing may write into the volume once failover has said it is done.
  await waitUntil(deadline, async () => {
    await deleteReceivers();
    const pods = await c.listPods(ns, '');
    const writers = podNames(
      pods.items.filter((p) => {
        if (!stillRuns(p)) return false;
        const l = p.metadata?.labels ?? {};
        const receiver =
          l[pvcLabel] === pvcLabelValue(name) && l[componentLabel] === components.receiver;
        const pluginRun = mounts(p, name) && l[componentLabel] === components.endpoint;
        return receiver || pluginRun;
      }),
    );
    return writers.length
      ? `the receiver pod(s) ${writers.join(', ')} still run: failover stopped replication but could not wait for them; run it again once they are gone (kubectl get pods -n ${ns})`
      : undefined;
  });
}

export async function failoverPvc(
  name: string,
  flags: FailoverFlags,
  /** Part of a failback, after a successful final sync: the volume is complete, the source is turned around next. */
  o: { afterFinalSync?: boolean } = {},
): Promise<void> {
  const from = (flags.from ?? 'snapshot') as FailoverData;
  const c = connect(flags);
  const ns = c.namespace;
  const where = `(context ${c.context}, namespace ${ns})`;
  const deadline = Date.now() + (parseRequestTimeout(flags.timeout ?? '5m') ?? Infinity);
  try {
    const [claim, snapshots, asClaim] = await Promise.all([
      c.findPvc(ns, name),
      c.listVolumeSnapshots(ns, componentSelector(name, components.history)).then((l) => l.items),
      flags.as ? c.findPvc(ns, flags.as) : Promise.resolve(undefined),
    ]);
    const plan = planFailover(
      {
        name,
        namespace: ns,
        context: c.context,
        from,
        snapshot: flags.snapshot,
        as: flags.as,
        ...(o.afterFinalSync ? { volumeComplete: true } : {}),
        now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      { claim, asClaim, snapshots },
    );
    if (plan.kind === 'done') {
      process.stdout.write(`${plan.message}\n`);
      return;
    }
    for (const w of plan.warnings) process.stderr.write(`Warning: ${w}\n`);
    const dry = flags['dry-run'] ? ' (dry run)' : '';
    const say = (line: string) => process.stdout.write(`${line}${dry}\n`);
    const taken = plan.snapshot?.status?.creationTime;
    const dataLine =
      plan.data === 'volume'
        ? 'the destination volume as it is'
        : `volumesnapshot/${plan.data}${taken ? ` (taken ${taken})` : ''}`;

    if (flags['dry-run']) {
      if (plan.stopReplication)
        say(
          `persistentvolumeclaim/${name} annotated: replication from ${plan.source} stopped ${where}`,
        );
      say(`receivers, endpoint and keys of persistentvolumeclaim/${name} deleted ${where}`);
      if (plan.replace) say(`persistentvolumeclaim/${name} deleted ${where}`);
      if (plan.create)
        say(
          `persistentvolumeclaim/${plan.create.metadata!.name} created from ${dataLine} ${where}`,
        );
      else say(`persistentvolumeclaim/${name} is the application's now, with ${dataLine}`);
      return;
    }
    if (plan.replace && claim) {
      await confirm(
        `Failover deletes persistentvolumeclaim "${name}" ${where} and restores it from ${dataLine}; the destination volume's own data is lost. Continue?`,
        flags.yes,
        `To keep it, restore into a new claim with --as NAME, or take the volume as it is with --from volume.`,
      );
    }

    if (plan.stopReplication) {
      await c.annotatePvc(ns, name, plan.stopReplication);
      say(
        `persistentvolumeclaim/${name} annotated: replication from ${plan.source} stopped ${where}`,
      );
    }
    if (claim) await stopReceiving(c, ns, name, plan, say, deadline);
    if (plan.template) {
      // Before the claim goes: a failover cut off here resumes from the snapshot.
      await c.annotateVolumeSnapshot(ns, plan.template.snapshot, {
        [drKeys.claimTemplate]: plan.template.value,
      });
    }
    if (plan.replace && claim) {
      if (await gone(c.deletePvc(ns, name))) say(`persistentvolumeclaim/${name} deleted`);
      await waitUntil(deadline, async () => {
        const still = await c.findPvc(ns, name);
        if (!still || still.metadata?.uid !== claim.metadata?.uid) return undefined;
        const users = podNames(runningUsers((await c.listPods(ns, '')).items, name));
        return `persistentvolumeclaim "${name}" is still being deleted${users.length ? `: pod(s) ${users.join(', ')} use it` : ''}; stop them and run kubectl scribe failover pvc ${name} again: it resumes from volumesnapshot/${plan.data}`;
      });
    }
    let result: V1PersistentVolumeClaim | undefined;
    if (plan.create) {
      const target = plan.create.metadata!.name!;
      try {
        result = await c.createPvc(plan.create);
        say(`persistentvolumeclaim/${target} created from ${dataLine}`);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        say(`persistentvolumeclaim/${target} unchanged: it already exists`);
      }
      if (plan.template) {
        await c.annotateVolumeSnapshot(ns, plan.template.snapshot, {
          [drKeys.claimTemplate]: null,
        });
      }
    }
    const target = plan.create?.metadata?.name ?? name;
    // A server pass that was under way may have written its status onto the
    // claim after the spec was removed: the application's claim keeps none.
    const final = await c.findPvc(ns, target);
    const stray = disableAnnotationsPatch(final?.metadata?.annotations);
    if (final && Object.keys(stray).length) await c.annotatePvc(ns, target, stray);
    process.stdout.write(
      `\npersistentvolumeclaim/${target} ${where} is ready for the application${result ? ' (it binds when a pod mounts it, or at once, as its StorageClass says)' : ''}.\n`,
    );
    const [srcContext, srcNamespace, srcName] = plan.source.split('/');
    if (srcName && !o.afterFinalSync) {
      process.stdout.write(
        `The source ${plan.source}${plan.sourceTarget ? ` (target ${plan.sourceTarget})` : ''} still has replication enabled; its syncs fail from now on. Once its cluster is reachable: kubectl scribe disable pvc ${srcName} --context ${srcContext} -n ${srcNamespace}${plan.sourceTarget ? ` --target ${plan.sourceTarget}` : ''}\n`,
      );
    }
  } finally {
    c.close();
  }
}
