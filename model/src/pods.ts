// Which pods use a claim: what failover, reverse and migrate wait for or
// refuse on (the plugin), and where a quiesce hook runs (the replicator). Pure.
import type { V1Pod } from '@kubernetes/client-node';
import { managedByLabel } from './labels.ts';

/** A pod that has finished (Succeeded or Failed) reads and writes nothing any more. */
export function stillRuns(pod: V1Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export function mounts(pod: V1Pod, claim: string): boolean {
  return pod.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim) ?? false;
}

/** Pods that still run and mount the claim. */
export function runningUsers(pods: readonly V1Pod[], claim: string): V1Pod[] {
  return pods.filter((p) => stillRuns(p) && mounts(p, claim));
}

/** The application's pods among them: not Scribe's movers or the plugin's endpoint. */
export function applicationUsers(pods: readonly V1Pod[], claim: string): V1Pod[] {
  return runningUsers(pods, claim).filter((p) => {
    const by = p.metadata?.labels?.[managedByLabel] ?? '';
    return by !== 'scribe' && by !== 'kubectl-scribe';
  });
}

export const podNames = (pods: readonly V1Pod[]): string[] => pods.map((p) => p.metadata!.name!);
