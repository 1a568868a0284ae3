import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type {
  AdmissionDecision,
  AdmissionRequest,
  JsonPatchOperation,
} from './admission-review.ts';
import { pointer } from './json-pointer.ts';
import {
  type LiveVolume,
  type SidecarConfig,
  keyVolumeName,
  sidecarContainer,
  sidecarName,
  sidecarVolumes,
  tmpVolumeName,
} from './sidecar.ts';

// "What must this pod gain?": a pure function from the admission request and
// the cached claims to a JSON Patch.

export interface PvcLookup {
  get(namespace: string, name: string): V1PersistentVolumeClaim | undefined;
}

// How the replication spec on a claim reads for a live copy (the model decides).
export type LiveReading =
  | {
      kind: 'live';
      endpoint: string;
      secret: string;
      schedule: string;
      volumeMode: 'Filesystem' | 'Block';
    }
  | { kind: 'skip'; reason: string } // enabled for live, but not now (paused, invalid)
  | { kind: 'none' }; // not a live source

export interface InjectionContext {
  pvcs: PvcLookup;
  readLive: (pvc: V1PersistentVolumeClaim) => LiveReading;
  sidecar: SidecarConfig;
  excludedNamespaces: ReadonlySet<string>;
  // The pod annotation that records what was injected (reinvocation, people).
  markerAnnotation: string;
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export interface InjectionResult {
  decision: AdmissionDecision;
  injected: LiveVolume[];
  skipped: string[];
}

const none = (skipped: string[] = [], warnings: string[] = []): InjectionResult => ({
  decision: { allowed: true, warnings },
  injected: [],
  skipped,
});

// Which of the pod's claims are live sources, in the pod's volume order.
export function liveVolumes(
  pod: V1Pod,
  namespace: string,
  ctx: Pick<InjectionContext, 'pvcs' | 'readLive'>,
): { live: LiveVolume[]; skipped: string[] } {
  const live: LiveVolume[] = [];
  const skipped: string[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    const claimName = volume.persistentVolumeClaim?.claimName;
    if (!claimName) continue;
    const pvc = ctx.pvcs.get(namespace, claimName);
    if (!pvc) continue; // not yet known, or not Scribe's: the cache lists annotated claims
    const reading = ctx.readLive(pvc);
    if (reading.kind === 'none') continue;
    if (reading.kind === 'skip') {
      skipped.push(`PersistentVolumeClaim ${claimName}: ${reading.reason}`);
      continue;
    }
    // The claim's own mode decides how the pod attaches it (mount or device).
    const volumeMode = pvc.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem';
    live.push({
      volumeName: volume.name,
      claimName,
      volumeMode,
      endpoint: reading.endpoint,
      secret: reading.secret,
      schedule: reading.schedule,
    });
  }
  return { live, skipped };
}

export function injectLiveSidecars(req: AdmissionRequest, ctx: InjectionContext): InjectionResult {
  if (req.operation !== 'CREATE' || req.kind.kind !== 'Pod' || req.kind.group !== '') return none();
  if (req.subResource) return none();
  const pod = req.object as V1Pod | null;
  if (!pod?.spec) return none();
  const namespace = req.namespace ?? pod.metadata?.namespace ?? '';
  if (ctx.excludedNamespaces.has(namespace)) return none();
  const annotations = pod.metadata?.annotations ?? {};
  // Kubelet's static pods: the apiserver copy is read-only and not the one that runs.
  if (MIRROR_ANNOTATION in annotations) return none();

  const { live, skipped } = liveVolumes(pod, namespace, ctx);
  const existing = new Set([
    ...(pod.spec.initContainers ?? []).map((c) => c.name),
    ...pod.spec.containers.map((c) => c.name),
  ]);
  const existingVolumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
  // Reinvocation or a pod template that already carries them: nothing twice.
  const todo = live.filter(
    (l) =>
      !existing.has(sidecarName(l.volumeName)) &&
      !existingVolumes.has(keyVolumeName(l.volumeName)) &&
      !existingVolumes.has(tmpVolumeName(l.volumeName)),
  );
  const warnings = skipped.map((s) => `scribe: no live copy for ${s}`);
  if (todo.length === 0) return none(skipped, warnings);

  const patch: JsonPatchOperation[] = [];
  const containers = todo.map((l) => sidecarContainer(l, ctx.sidecar));
  if (ctx.sidecar.mode === 'native') {
    // Appended last: the application's own init containers run first, as before.
    if (pod.spec.initContainers === undefined || pod.spec.initContainers === null) {
      patch.push({ op: 'add', path: '/spec/initContainers', value: containers });
    } else {
      for (const c of containers)
        patch.push({ op: 'add', path: '/spec/initContainers/-', value: c });
    }
  } else {
    for (const c of containers) patch.push({ op: 'add', path: '/spec/containers/-', value: c });
  }
  const volumes = todo.flatMap(sidecarVolumes);
  if (pod.spec.volumes === undefined || pod.spec.volumes === null) {
    patch.push({ op: 'add', path: '/spec/volumes', value: volumes });
  } else {
    for (const v of volumes) patch.push({ op: 'add', path: '/spec/volumes/-', value: v });
  }
  const marker = [...todo.map((l) => l.claimName)].join(',');
  const previous = annotations[ctx.markerAnnotation];
  const value = previous ? `${previous},${marker}` : marker;
  if (!pod.metadata) {
    patch.push({
      op: 'add',
      path: '/metadata',
      value: { annotations: { [ctx.markerAnnotation]: value } },
    });
  } else if (pod.metadata.annotations === undefined || pod.metadata.annotations === null) {
    patch.push({
      op: 'add',
      path: '/metadata/annotations',
      value: { [ctx.markerAnnotation]: value },
    });
  } else {
    // "add" replaces an existing member, so reinvocation needs no "replace".
    patch.push({
      op: 'add',
      path: pointer('metadata', 'annotations', ctx.markerAnnotation),
      value,
    });
  }
  return { decision: { allowed: true, patch, warnings }, injected: todo, skipped };
}
