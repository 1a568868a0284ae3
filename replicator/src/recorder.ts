// Where the replicator's observations go: Kubernetes Events on the PVC and
// Prometheus metrics per PVC.
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

export interface Recorder {
  event(
    pvc: V1PersistentVolumeClaim,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
  /** `target`: which of the source's destinations (`default` for the unsuffixed one). */
  syncFinished(
    pvc: V1PersistentVolumeClaim,
    r: { ok: boolean; durationSeconds: number; bytes: number },
    target: string,
  ): void;
  missed(pvc: V1PersistentVolumeClaim, n: number, target: string): void;
}

/** A core/v1 Event about a PVC, as kubectl describe shows them. */
export function pvcEvent(
  pvc: V1PersistentVolumeClaim,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  now: Date,
  host: string,
): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${pvc.metadata?.name}.`, namespace: pvc.metadata?.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: pvc.metadata?.name,
      namespace: pvc.metadata?.namespace,
      uid: pvc.metadata?.uid,
      resourceVersion: pvc.metadata?.resourceVersion,
    },
    type,
    reason,
    message,
    source: { component: 'scribe-replicator', host },
    reportingComponent: 'scribe.backube.io/replicator',
    reportingInstance: host,
    firstTimestamp: now,
    lastTimestamp: now,
    eventTime: undefined,
    count: 1,
  };
}

export function eventRecorder(
  kube: Kube,
  now: () => Date,
  host: string,
  metrics: Pick<Recorder, 'syncFinished' | 'missed'>,
): Recorder {
  return {
    async event(pvc, type, reason, message) {
      await kube.create(pvcEvent(pvc, type, reason, message, now(), host)).catch(() => undefined);
    },
    syncFinished: (pvc, r, target) => metrics.syncFinished(pvc, r, target),
    missed: (pvc, n, target) => metrics.missed(pvc, n, target),
  };
}
