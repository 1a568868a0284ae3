// What one pass sees: every claim, and Scribe's own objects listed once per
// kind for the whole cluster (the ClusterRole grants list everywhere) and
// grouped by the claim they serve (the scribe.backube.io/pvc label). A pass
// makes five list calls however many claims are replicated; the reconcilers
// read their share from here instead of listing per claim.
import type { V1Job, V1PersistentVolumeClaim, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';
import { componentLabel, managedBy, managedByLabel, pvcLabel, pvcLabelValue } from './naming.ts';
import type { VolumeSnapshot } from './objects.ts';

/** Scribe's objects for one claim: copies, mover Jobs, endpoint Services, snapshots. */
export interface Owned {
  jobs: V1Job[];
  /** Point-in-time copies (clone and restore claims). */
  claims: V1PersistentVolumeClaim[];
  /** Source copies and destination history. */
  snapshots: VolumeSnapshot[];
  services: V1Service[];
  /** Mover pods (their Jobs' template carries the same labels). */
  pods: V1Pod[];
}

export interface Observed {
  /** Every claim in the cluster, Scribe's copies included. */
  claims: V1PersistentVolumeClaim[];
  owned: Map<string, Owned>;
}

interface Labelled {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}

const empty = (): Owned => ({ jobs: [], claims: [], snapshots: [], services: [], pods: [] });

function keyOf(namespace: string | undefined, pvc: string): string {
  return `${namespace ?? ''}/${pvc}`;
}

/** Groups Scribe's objects by namespace and the claim their label names (pvcLabelValue). Pure. */
export function groupOwned(all: {
  claims: V1PersistentVolumeClaim[];
  jobs: V1Job[];
  snapshots: VolumeSnapshot[];
  services: V1Service[];
  pods: V1Pod[];
}): Map<string, Owned> {
  const out = new Map<string, Owned>();
  const add = <K extends keyof Owned>(kind: K, xs: Owned[K]) => {
    for (const o of xs as Labelled[]) {
      const labels = o.metadata?.labels;
      const pvc = labels?.[pvcLabel];
      if (labels?.[managedByLabel] !== managedBy || !pvc) continue;
      const key = keyOf(o.metadata?.namespace, pvc);
      let group = out.get(key);
      if (!group) out.set(key, (group = empty()));
      (group[kind] as Labelled[]).push(o);
    }
  };
  add('claims', all.claims);
  add('jobs', all.jobs);
  add('snapshots', all.snapshots);
  add('services', all.services);
  add('pods', all.pods);
  return out;
}

/** This claim's share of what the pass saw (empty when Scribe made nothing for it). */
export function ownedBy(owned: Map<string, Owned>, pvc: V1PersistentVolumeClaim): Owned {
  const name = pvc.metadata?.name;
  return (name && owned.get(keyOf(pvc.metadata?.namespace, pvcLabelValue(name)))) || empty();
}

/** Objects of one component (`sender`, `copy`, `history`, ...). */
export function component<T extends Labelled>(xs: T[], name: string): T[] {
  return xs.filter((o) => o.metadata?.labels?.[componentLabel] === name);
}

/** The pass's five list calls. */
export async function observe(kube: Kube): Promise<Observed> {
  const ours = `${managedByLabel}=${managedBy}`;
  const [claims, jobs, snapshots, services, pods] = await Promise.all([
    kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim'),
    kube.list<V1Job>('batch/v1', 'Job', undefined, ours),
    kube.list<VolumeSnapshot>('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', undefined, ours),
    kube.list<V1Service>('v1', 'Service', undefined, ours),
    kube.list<V1Pod>('v1', 'Pod', undefined, ours),
  ]);
  return { claims, owned: groupOwned({ claims, jobs, snapshots, services, pods }) };
}
