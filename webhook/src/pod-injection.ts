import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type {
  AdmissionDecision,
  AdmissionRequest,
  JsonPatchOperation,
} from './admission-review.ts';
import { pointer } from './json-pointer.ts';
import { type LruMemo, deepFreeze, lruMemo } from './lru-memo.ts';
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

// What the patch depends on besides the context: the sidecars to add and
// where the pod has lists and annotations to add to.
interface PatchShape {
  todo: LiveVolume[];
  initContainers: 'absent' | 'present';
  volumes: 'absent' | 'present';
  annotations: 'no-metadata' | 'absent' | 'present';
  previousMarker: string | undefined;
}

function sidecarPatch(shape: PatchShape, ctx: InjectionContext): JsonPatchOperation[] {
  const { todo } = shape;
  const patch: JsonPatchOperation[] = [];
  const containers = todo.map((l) => sidecarContainer(l, ctx.sidecar));
  if (ctx.sidecar.mode === 'native') {
    // Appended last: the application's own init containers run first, as before.
    if (shape.initContainers === 'absent') {
      patch.push({ op: 'add', path: '/spec/initContainers', value: containers });
    } else {
      for (const c of containers)
        patch.push({ op: 'add', path: '/spec/initContainers/-', value: c });
    }
  } else {
    for (const c of containers) patch.push({ op: 'add', path: '/spec/containers/-', value: c });
  }
  const volumes = todo.flatMap(sidecarVolumes);
  if (shape.volumes === 'absent') {
    patch.push({ op: 'add', path: '/spec/volumes', value: volumes });
  } else {
    for (const v of volumes) patch.push({ op: 'add', path: '/spec/volumes/-', value: v });
  }
  const marker = todo.map((l) => l.claimName).join(',');
  const value = shape.previousMarker ? `${shape.previousMarker},${marker}` : marker;
  if (shape.annotations === 'no-metadata') {
    patch.push({
      op: 'add',
      path: '/metadata',
      value: { annotations: { [ctx.markerAnnotation]: value } },
    });
  } else if (shape.annotations === 'absent') {
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
  return patch;
}

// Every field the patch is built from, unambiguously: the marker is the pod
// author's text, and two shapes must never share a key (the memo is shared by
// every namespace).
function shapeKey(s: PatchShape): string {
  return JSON.stringify([
    s.initContainers,
    s.volumes,
    s.annotations,
    s.previousMarker ?? null,
    ...s.todo.map((l) => [
      l.volumeName,
      l.claimName,
      l.volumeMode,
      l.endpoint,
      l.secret,
      l.schedule,
    ]),
  ]);
}

// Pods of one ReplicaSet or StatefulSet get the same patch: building it and
// its JSON again for each costs a tenth of a patched request (bench/webhook).
// One memo per context, as the sidecar settings are part of the patch. Its
// size is bounded: 256 shapes with keys of at most 2 KiB (a key grows with
// the pod author's marker text and the number of live claims).
const patchMemos = new WeakMap<InjectionContext, LruMemo<JsonPatchOperation[]>>();
function patchMemo(ctx: InjectionContext): LruMemo<JsonPatchOperation[]> {
  let memo = patchMemos.get(ctx);
  if (!memo) {
    memo = lruMemo(256, 2048);
    patchMemos.set(ctx, memo);
  }
  return memo;
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

  const shape: PatchShape = {
    todo,
    initContainers: pod.spec.initContainers == null ? 'absent' : 'present',
    volumes: pod.spec.volumes == null ? 'absent' : 'present',
    annotations: !pod.metadata
      ? 'no-metadata'
      : pod.metadata.annotations == null
        ? 'absent'
        : 'present',
    previousMarker: annotations[ctx.markerAnnotation],
  };
  const patch = patchMemo(ctx).get(shapeKey(shape), () => deepFreeze(sidecarPatch(shape, ctx)));
  return { decision: { allowed: true, patch, warnings }, injected: todo, skipped };
}
