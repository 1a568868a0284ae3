import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  describeProblems,
  parseSpec,
  specKeys,
  statusPrefix,
  volumeModeMismatch,
  volumeModeOf,
} from '../../model/src/index.ts';
import type { LiveReading } from './pod-injection.ts';

// The pod annotation recording which claims got a live-copy sidecar. The model
// has no key for it (it is on pods, not claims); it is written by Scribe, so it
// lives under the status prefix.
export const injectedAnnotation = `${statusPrefix}live-sidecars`;

// How a cached claim's spec reads for the live copy.
export function readLive(pvc: V1PersistentVolumeClaim): LiveReading {
  const annotations = pvc.metadata?.annotations;
  const parsed = parseSpec(annotations);
  if (!parsed.enabled) return { kind: 'none' };
  const spec = parsed.spec;
  if (!spec) {
    if (annotations?.[specKeys.method] !== 'live') return { kind: 'none' };
    return {
      kind: 'skip',
      reason: `invalid replication spec: ${describeProblems(parsed.problems)}`,
    };
  }
  if (spec.role !== 'source' || spec.method !== 'live') return { kind: 'none' };
  if (spec.paused) return { kind: 'skip', reason: `replication is paused (${specKeys.paused})` };
  if (!spec.endpoint) {
    return { kind: 'skip', reason: `no ${specKeys.endpoint} yet: the destination is not ready` };
  }
  const mismatch = volumeModeMismatch(volumeModeOf(pvc), spec.destinationVolumeMode);
  if (mismatch) return { kind: 'skip', reason: mismatch };
  return {
    kind: 'live',
    endpoint: spec.endpoint,
    secret: spec.secret,
    schedule: spec.trigger.kind === 'manual' ? 'manual' : spec.trigger.cron,
    volumeMode: volumeModeOf(pvc),
  };
}
