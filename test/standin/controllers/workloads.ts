// The Job and Deployment controllers' decisions: which pods to create or
// delete for a Job or a Deployment, and the status to report. Pure.

import { createHash } from 'node:crypto';
import type {
  V1Deployment,
  V1DeploymentStatus,
  V1Job,
  V1JobCondition,
  V1JobStatus,
  V1OwnerReference,
  V1Pod,
  V1PodTemplateSpec,
} from '@kubernetes/client-node';

export function ownedBy(pod: V1Pod, uid: string | undefined): boolean {
  return (
    uid !== undefined &&
    (pod.metadata?.ownerReferences ?? []).some((r) => r.uid === uid && r.controller === true)
  );
}

const terminal = (p: V1Pod): boolean =>
  p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const ready = (p: V1Pod): boolean =>
  p.status?.phase === 'Running' &&
  (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export function controllerRef(
  apiVersion: string,
  kind: string,
  owner: { metadata?: { name?: string; uid?: string } },
): V1OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A pod from a template, as a controller creates it (generateName, labels, owner). */
export function podFromTemplate(
  template: V1PodTemplateSpec,
  namespace: string,
  generateName: string,
  labels: Record<string, string>,
  owner: V1OwnerReference,
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...labels },
      annotations: template.metadata?.annotations,
      ownerReferences: [owner],
    },
    spec: template.spec,
  };
}

export function jobPodLabels(job: V1Job): Record<string, string> {
  const name = job.metadata?.name ?? '';
  const uid = job.metadata?.uid ?? '';
  return {
    'controller-uid': uid,
    'job-name': name,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
  };
}

export interface JobDecision {
  create: number;
  /** Pods to delete (a failed or expired job's active pods). */
  remove: V1Pod[];
  status: V1JobStatus;
  /** The job is finished and its ttlSecondsAfterFinished has passed. */
  expired: boolean;
}

function finishedCondition(job: V1Job): V1JobCondition | undefined {
  return (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

export function decideJob(job: V1Job, pods: readonly V1Pod[], now: Date): JobDecision {
  const mine = pods.filter((p) => ownedBy(p, job.metadata?.uid));
  const succeeded = mine.filter((p) => p.status?.phase === 'Succeeded').length;
  const failed = mine.filter((p) => p.status?.phase === 'Failed').length;
  const active = mine.filter((p) => !terminal(p) && !p.metadata?.deletionTimestamp);
  const status: V1JobStatus = {
    ...job.status,
    startTime: job.status?.startTime ?? now,
    active: active.length || undefined,
    succeeded: succeeded || undefined,
    failed: failed || undefined,
    ready: active.filter(ready).length,
  };
  const done = finishedCondition(job);
  if (done !== undefined) {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    const finishedAt = new Date(
      done.lastTransitionTime ?? job.status?.completionTime ?? now,
    ).getTime();
    return {
      create: 0,
      remove: [],
      status,
      expired: ttl !== undefined && now.getTime() >= finishedAt + ttl * 1000,
    };
  }
  const completions = job.spec?.completions ?? 1;
  const parallelism = job.spec?.parallelism ?? 1;
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  const finish = (type: 'Complete' | 'Failed', reason?: string, message?: string): JobDecision => ({
    create: 0,
    remove: type === 'Failed' ? active : [],
    expired: false,
    status: {
      ...status,
      active: type === 'Failed' ? undefined : status.active,
      ...(type === 'Complete' ? { completionTime: now } : {}),
      conditions: [
        ...(job.status?.conditions ?? []),
        {
          type,
          status: 'True',
          lastProbeTime: now,
          lastTransitionTime: now,
          ...(reason ? { reason, message } : {}),
        },
      ],
    },
  });
  if (succeeded >= completions) return finish('Complete');
  if (failed > backoffLimit)
    return finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  const deadline = job.spec?.activeDeadlineSeconds;
  const started = new Date(status.startTime as Date).getTime();
  if (deadline !== undefined && now.getTime() >= started + deadline * 1000) {
    return finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
  }
  const want = job.spec?.suspend
    ? 0
    : Math.max(0, Math.min(parallelism, completions - succeeded) - active.length);
  return { create: want, remove: [], status, expired: false };
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A stable short hash of a pod template (the pod-template-hash label). */
export function templateHash(t: V1PodTemplateSpec | undefined): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(t ?? {}))
    .digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += SAFE[(digest[i] as number) % SAFE.length];
  return out;
}

export interface DeploymentDecision {
  create: number;
  remove: V1Pod[];
  hash: string;
  status: V1DeploymentStatus;
}

export function decideDeployment(
  d: V1Deployment,
  pods: readonly V1Pod[],
  now: Date,
): DeploymentDecision {
  const hash = templateHash(d.spec?.template);
  const desired = d.spec?.paused ? -1 : (d.spec?.replicas ?? 1);
  const mine = pods.filter((p) => ownedBy(p, d.metadata?.uid) && !p.metadata?.deletionTimestamp);
  const current = mine.filter(
    (p) => p.metadata?.labels?.['pod-template-hash'] === hash && !terminal(p),
  );
  // Recreate: pods of an older template, and pods that ended, make way for new ones.
  const stale = mine.filter(
    (p) => p.metadata?.labels?.['pod-template-hash'] !== hash || terminal(p),
  );
  const byAge = [...current].sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(
      String(a.metadata?.creationTimestamp ?? ''),
    ),
  );
  const extra =
    desired >= 0 && current.length > desired ? byAge.slice(0, current.length - desired) : [];
  const create = desired >= 0 ? Math.max(0, desired - current.length) : 0;
  const readyCount = current.filter(ready).length;
  const want = d.spec?.replicas ?? 1;
  const available = readyCount >= want;
  const prior = (d.status?.conditions ?? []).find((c) => c.type === 'Available');
  const availStatus = available ? 'True' : 'False';
  return {
    create,
    remove: [...stale, ...extra],
    hash,
    status: {
      observedGeneration: d.metadata?.generation,
      replicas: mine.length,
      updatedReplicas: current.length,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      unavailableReplicas: Math.max(0, want - readyCount) || undefined,
      conditions: [
        {
          type: 'Available',
          status: availStatus,
          reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          message: available
            ? 'Deployment has minimum availability.'
            : 'Deployment does not have minimum availability.',
          lastUpdateTime: now,
          lastTransitionTime: prior?.status === availStatus ? prior.lastTransitionTime : now,
        },
      ],
    },
  };
}
