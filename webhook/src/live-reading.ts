import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  describeProblems,
  specKeys,
  statusPrefix,
  volumeModeMismatch,
  volumeModeOf,
} from '../../model/src/index.ts';
import type { LiveReading } from './pod-injection.ts';
import { parseSpecMemo as parseSpec } from './spec-memo.ts';

// The pod annotation recording which claims got a live-copy sidecar. The model
// has no key for it (it is on pods, not claims); it is written by Scribe, so it
// lives under the status prefix.
export const injectedAnnotation = `${statusPrefix}live-sidecars`;

// The cache hands out the same object until the claim changes.
const readings = new WeakMap<V1PersistentVolumeClaim, LiveReading>();

// How a cached claim's spec reads for the live copy.
export function readLive(pvc: V1PersistentVolumeClaim): LiveReading {
  let reading = readings.get(pvc);
  if (!reading) {
    reading = read(pvc);
    readings.set(pvc, reading);
  }
  return reading;
}

function read(pvc: V1PersistentVolumeClaim): LiveReading {
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
