// The decisions of `kubectl scribe migrate pvc`: which workloads must stop
// for the cutover (found from the pods that mount the claim, up their owner
// chain), when the background syncs have converged, and what the claim's
// migration record says. Pure; the action talks to the clusters.
import type { V1OwnerReference, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { drKeys } from '../../../model/src/index.ts';
import { CliError } from '../errors.ts';
import { runningUsers } from './pods.ts';

/** A workload the cutover scales to zero, and the replicas it had. */
export interface ScaledWorkload {
  kind: 'Deployment' | 'StatefulSet' | 'ReplicaSet';
  name: string;
  replicas: number;
}

const scalable = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

function controllerOf(refs: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((r) => r.controller) ?? refs?.[0];
}

/**
 * The workloads whose pods mount `claim`: a ReplicaSet owned by a Deployment
 * counts as the Deployment (scaling the ReplicaSet would be undone). Pods
 * that no scalable workload owns (bare pods, Jobs, DaemonSets) cannot be
 * stopped by scaling: they are an error that names them.
 */
export function workloadsUsing(
  claim: string,
  pods: readonly V1Pod[],
  replicaSets: readonly V1ReplicaSet[],
): { kind: ScaledWorkload['kind']; name: string }[] {
  const found = new Map<string, { kind: ScaledWorkload['kind']; name: string }>();
  const stuck: string[] = [];
  for (const p of runningUsers(pods, claim)) {
    let owner = controllerOf(p.metadata?.ownerReferences);
    if (owner?.kind === 'ReplicaSet') {
      const rs = replicaSets.find((r) => r.metadata?.name === owner!.name);
      const up = controllerOf(rs?.metadata?.ownerReferences);
      if (up?.kind === 'Deployment') owner = up;
    }
    if (!owner || !scalable.has(owner.kind)) {
      stuck.push(
        `pod/${p.metadata?.name}${owner ? ` (owned by ${owner.kind} ${owner.name})` : ''}`,
      );
      continue;
    }
    found.set(`${owner.kind}/${owner.name}`, {
      kind: owner.kind as ScaledWorkload['kind'],
      name: owner.name,
    });
  }
  if (stuck.length) {
    throw new CliError(
      `${stuck.join(', ')} use(s) persistentvolumeclaim "${claim}" and cannot be scaled down: stop them yourself, then run the cutover again`,
    );
  }
  return [...found.values()].sort((a, b) =>
    `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`),
  );
}

/** The background syncs have converged: the last one moved at most `maxDelta` bytes. */
export function converged(lastSyncBytes: number | undefined, maxDelta: number): boolean {
  return lastSyncBytes !== undefined && lastSyncBytes <= maxDelta;
}

/** The record of a cutover on the source claim: what was scaled down, to undo it. */
export function parseScaled(v: string | undefined): ScaledWorkload[] | undefined {
  if (!v) return undefined;
  try {
    const list = JSON.parse(v) as ScaledWorkload[];
    return Array.isArray(list) &&
      list.every(
        (w) => scalable.has(w.kind) && typeof w.name === 'string' && Number.isInteger(w.replicas),
      )
      ? list
      : undefined;
  } catch {
    return undefined;
  }
}

export function migrationRecord(annotations: Record<string, string> | undefined): {
  scaled?: ScaledWorkload[];
  migratedTo?: string;
  migratedAt?: string;
} {
  const a = annotations ?? {};
  const scaled = parseScaled(a[drKeys.migrationScaled]);
  return {
    ...(scaled ? { scaled } : {}),
    ...(a[drKeys.migratedTo] ? { migratedTo: a[drKeys.migratedTo] } : {}),
    ...(a[drKeys.migratedAt] ? { migratedAt: a[drKeys.migratedAt] } : {}),
  };
}

/** A duration as people read it: 850ms, 12.4s, 3m05s. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}
