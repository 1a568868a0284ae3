// Is Scribe up? Two questions, each a pure reading of what the API answered:
// a Deployment's rollout (as kubectl rollout status reads it), and an
// admission round trip through the API server to the webhook.
import type { V1Deployment, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { specKeys } from '../../../model/src/index.ts';
import { ApiError } from '../kube/api-errors.ts';

export interface Rollout {
  done: boolean;
  /** kubectl rollout status's words. */
  line: string;
}

export function rolloutOf(d: V1Deployment): Rollout {
  const name = d.metadata?.name ?? '';
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
    return { done: false, line: `Waiting for deployment "${name}" spec update to be observed...` };
  }
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (want === 0) {
    return { done: false, line: `deployment "${name}" is scaled to 0 replicas` };
  }
  if (updated < want) {
    return {
      done: false,
      line: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`,
    };
  }
  if ((s.replicas ?? 0) > updated) {
    return {
      done: false,
      line: `Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - updated} old replicas are pending termination...`,
    };
  }
  if (available < updated) {
    return {
      done: false,
      line: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    };
  }
  return {
    done: true,
    line: `deployment "${name}" successfully rolled out (${available}/${want} available)`,
  };
}

/**
 * A claim the validating webhook must refuse: it carries a Scribe annotation
 * with a value no release accepts. Created with dryRun=All, so nothing is
 * stored even when no webhook answers.
 */
export function probeClaim(namespace: string): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'scribe-admission-probe',
      namespace,
      annotations: { [specKeys.replication]: 'admission-probe' },
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
  };
}

export type ProbeResult =
  | { state: 'answering'; detail: string }
  | { state: 'not-called' | 'unreachable' | 'unknown'; detail: string };

/** What the API server's answer to the probe says about the webhook named `webhook`. */
export function probeResult(webhook: string, outcome: unknown): ProbeResult {
  if (!(outcome instanceof Error)) {
    return {
      state: 'not-called',
      detail: `the API server admitted an invalid Scribe claim without asking ${webhook}: it is not registered, or fails open while unreachable`,
    };
  }
  const m = outcome.message;
  if (m.includes(`admission webhook "${webhook}" denied the request`)) {
    return { state: 'answering', detail: `${webhook} refused an invalid claim, as it must` };
  }
  if (outcome instanceof ApiError && /failed calling webhook/.test(m)) {
    return { state: 'unreachable', detail: `the API server cannot call ${webhook}: ${m}` };
  }
  return { state: 'unknown', detail: `the probe claim could not be tried: ${m}` };
}
