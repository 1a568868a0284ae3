// The Job and Deployment controllers: pods from templates, owned by their
// workload, and the workload's status, from the decisions in workloads.ts.

import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import {
  isNotFound,
  keyOf,
  mergePatch,
  splitKey,
  stableJson,
  watchResource,
  workQueue,
  type Cache,
  type Clients,
  type Logger,
} from './kube.ts';
import type { Controller } from './provisioner.ts';
import {
  controllerRef,
  decideDeployment,
  decideJob,
  jobPodLabels,
  podFromTemplate,
} from './workloads.ts';

export interface WorkloadOptions {
  clients: Clients;
  log?: Logger;
  resyncMs?: number;
}

/** Status without the times that change on every look, to tell whether a patch is needed. */
function comparable(status: unknown): string {
  return stableJson(status ?? {}, ['lastUpdateTime', 'lastProbeTime']);
}

/**
 * Pods this controller created or deleted whose watch events have not
 * arrived yet, so a reconcile on a stale cache neither creates twice nor
 * counts a deleted pod (client-go's "expectations").
 */
function expectations() {
  const created = new Map<string, { pod: V1Pod; at: number }>();
  const deleted = new Map<string, number>();
  return {
    created(pod: V1Pod) {
      created.set(keyOf(pod), { pod, at: Date.now() });
    },
    deleted(pod: V1Pod) {
      deleted.set(keyOf(pod), Date.now());
    },
    view(cached: readonly V1Pod[]): V1Pod[] {
      const now = Date.now();
      const names = new Set(cached.map(keyOf));
      for (const [k, v] of created) if (names.has(k) || now - v.at > 30_000) created.delete(k);
      for (const [k, at] of deleted) if (!names.has(k) || now - at > 30_000) deleted.delete(k);
      return [
        ...cached.filter((p) => !deleted.has(keyOf(p))),
        ...[...created.values()].map((v) => v.pod),
      ];
    },
  };
}

export async function startWorkloadControllers(opts: WorkloadOptions): Promise<Controller> {
  const { clients } = opts;
  const log = opts.log ?? ((m: string) => console.error(`[workloads] ${m}`));
  const expect = expectations();
  const queue = workQueue(reconcile, log);
  const ownerKey = (pod: V1Pod): string | undefined => {
    const ref = (pod.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
    if (ref?.kind === 'Job') return `job:${pod.metadata?.namespace}/${ref.name}`;
    if (ref?.kind === 'Deployment') return `deploy:${pod.metadata?.namespace}/${ref.name}`;
    return undefined;
  };
  const pods: Cache<V1Pod> = await watchResource(
    clients.kc,
    '/api/v1/pods',
    () => clients.core.listPodForAllNamespaces(),
    (p) => {
      const k = ownerKey(p);
      if (k !== undefined) queue.add(k);
    },
    log,
  );
  const jobs: Cache<V1Job> = await watchResource(
    clients.kc,
    '/apis/batch/v1/jobs',
    () => clients.batch.listJobForAllNamespaces(),
    (j) => queue.add(`job:${keyOf(j)}`),
    log,
  );
  const deployments: Cache<V1Deployment> = await watchResource(
    clients.kc,
    '/apis/apps/v1/deployments',
    () => clients.apps.listDeploymentForAllNamespaces(),
    (d) => queue.add(`deploy:${keyOf(d)}`),
    log,
  );
  const resync = setInterval(() => {
    for (const j of jobs.list()) queue.add(`job:${keyOf(j)}`);
    for (const d of deployments.list()) queue.add(`deploy:${keyOf(d)}`);
  }, opts.resyncMs ?? 1_000);

  async function createPod(pod: V1Pod): Promise<void> {
    const made = await clients.core.createNamespacedPod({
      namespace: pod.metadata?.namespace ?? '',
      body: pod,
    });
    expect.created(made);
  }

  async function deletePod(pod: V1Pod): Promise<void> {
    expect.deleted(pod);
    await clients.core
      .deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
      })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }

  async function reconcileJob(namespace: string, name: string): Promise<void> {
    const job = jobs.get(name, namespace);
    if (job === undefined) return;
    if (job.metadata?.deletionTimestamp) return;
    const d = decideJob(job, expect.view(pods.list(namespace)), new Date());
    if (d.expired) {
      await clients.batch
        .deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      return;
    }
    for (const p of d.remove) await deletePod(p);
    const template = job.spec?.template ?? {};
    for (let i = 0; i < d.create; i++) {
      await createPod(
        podFromTemplate(
          template,
          namespace,
          `${name}-`,
          jobPodLabels(job),
          controllerRef('batch/v1', 'Job', job),
        ),
      );
    }
    if (comparable(d.status) !== comparable(job.status)) {
      await clients.batch.patchNamespacedJobStatus(
        { name, namespace, body: { status: d.status } },
        mergePatch,
      );
    }
  }

  async function reconcileDeployment(namespace: string, name: string): Promise<void> {
    const dep = deployments.get(name, namespace);
    if (dep === undefined || dep.metadata?.deletionTimestamp) return;
    const d = decideDeployment(dep, expect.view(pods.list(namespace)), new Date());
    for (const p of d.remove) await deletePod(p);
    const template = dep.spec?.template ?? {};
    for (let i = 0; i < d.create; i++) {
      await createPod(
        podFromTemplate(
          template,
          namespace,
          `${name}-${d.hash}-`,
          { 'pod-template-hash': d.hash },
          controllerRef('apps/v1', 'Deployment', dep),
        ),
      );
    }
    if (comparable(d.status) !== comparable(dep.status)) {
      await clients.apps.patchNamespacedDeploymentStatus(
        { name, namespace, body: { status: d.status } },
        mergePatch,
      );
    }
  }

  function reconcile(key: string): Promise<void> {
    const colon = key.indexOf(':');
    const { namespace, name } = splitKey(key.slice(colon + 1));
    return key.startsWith('job:')
      ? reconcileJob(namespace, name)
      : reconcileDeployment(namespace, name);
  }

  return {
    idle: () => queue.idle(),
    async stop() {
      clearInterval(resync);
      await queue.stop();
      await Promise.all([pods, jobs, deployments].map((c) => c.stop()));
    },
  };
}
