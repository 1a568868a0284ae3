// Pure decisions of the quiesce hook: which containers it runs in, when a
// point-in-time copy counts as cut, and how a hook's outcome is worded.
import type { V1Pod } from '@kubernetes/client-node';
import { applicationUsers } from '../../model/src/index.ts';
import type { VolumeSnapshot } from './objects.ts';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';

/** One container a hook runs in. */
export interface HookTarget {
  pod: string;
  container: string;
}

const running = (pod: V1Pod, container: string): boolean =>
  pod.status?.containerStatuses?.some((s) => s.name === container && s.state?.running) ?? false;

/**
 * Where the quiesce command runs: every running container that mounts the
 * claim, in every running application pod that has it as a volume, or only
 * the named container (a pod without it is a misconfiguration, not a skip).
 * Scribe's own pods (movers, endpoints) are never targets. Pure.
 */
export function quiesceTargets(
  pods: readonly V1Pod[],
  claim: string,
  container?: string,
): { targets: HookTarget[]; problem?: string } {
  const targets: HookTarget[] = [];
  for (const pod of applicationUsers(pods, claim)) {
    if (pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) continue;
    const name = pod.metadata?.name ?? '';
    if (container !== undefined) {
      if (!pod.spec?.containers.some((c) => c.name === container)) {
        const have = pod.spec?.containers.map((c) => c.name).join(', ') ?? '';
        return {
          targets: [],
          problem: `pod ${name} mounts the claim but has no container "${container}" (it has ${have}): fix scribe.backube.io/quiesce-container`,
        };
      }
      if (running(pod, container)) targets.push({ pod: name, container });
      continue;
    }
    const volumes = new Set(
      (pod.spec?.volumes ?? [])
        .filter((v) => v.persistentVolumeClaim?.claimName === claim)
        .map((v) => v.name),
    );
    for (const c of pod.spec?.containers ?? []) {
      const uses = [...(c.volumeMounts ?? []), ...(c.volumeDevices ?? [])].some((m) =>
        volumes.has(m.name),
      );
      if (uses && running(pod, c.name)) targets.push({ pod: name, container: c.name });
    }
  }
  return { targets };
}

/** `POD/CONTAINER,…` for the quiesced-pods status key. Pure. */
export function renderTargets(targets: readonly HookTarget[]): string {
  return targets.map((t) => `${t.pod}/${t.container}`).join(',');
}

export function parseTargets(v: string | undefined): HookTarget[] {
  return (v ?? '')
    .split(',')
    .filter((s) => s.includes('/'))
    .map((s) => {
      const [pod, container] = s.split('/') as [string, string];
      return { pod, container };
    });
}

/**
 * Whether the point-in-time copy is cut, so the application may go on: a
 * VolumeSnapshot has a creationTime (the external-snapshotter sets it when
 * the CSI driver has cut it, before it is ready to use) or is ready; a clone
 * is Bound (CSI drivers copy the source when they create the volume). Pure.
 */
export function copyCut(copy: {
  snapshot?: VolumeSnapshot;
  claim?: V1PersistentVolumeClaim;
}): boolean {
  if (copy.snapshot)
    return Boolean(copy.snapshot.status?.creationTime || copy.snapshot.status?.readyToUse);
  return copy.claim?.status?.phase === 'Bound';
}

/** What a hook command ended with. */
export type HookOutcome =
  | { kind: 'exited'; exitCode: number; stderr: string }
  | { kind: 'timed-out' }
  | { kind: 'refused'; message: string };

/** A failed hook in one line (undefined when it succeeded). Pure. */
export function hookFailure(
  what: 'quiesce' | 'unquiesce',
  t: HookTarget,
  timeoutSeconds: number,
  o: HookOutcome,
): string | undefined {
  const where = `in pod ${t.pod} container ${t.container}`;
  if (o.kind === 'timed-out')
    return `${what} command ${where} did not finish within ${timeoutSeconds}s`;
  if (o.kind === 'refused') return `${what} command ${where} could not run: ${o.message}`;
  if (o.exitCode === 0) return undefined;
  const tail = o.stderr.trim().split('\n').at(-1)?.slice(0, 200);
  return `${what} command ${where} exited with ${o.exitCode}${tail ? `: ${tail}` : ''}`;
}
