// What uninstall removes and what stops it (pure).
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parseSpec } from '../../../model/src/index.ts';
import { kinds, type KindInfo, type ManifestObject } from './resources.ts';

/** The label every object of Scribe's manifests carries. */
export const partOfScribe = 'app.kubernetes.io/name=scribe';

export interface Replicated {
  namespace: string;
  name: string;
  role: string;
}

/** Claims whose annotations still ask Scribe to replicate them (either side). */
export function replicatedClaims(pvcs: readonly V1PersistentVolumeClaim[]): Replicated[] {
  return pvcs.flatMap((p) => {
    const parsed = parseSpec(p.metadata?.annotations);
    if (!parsed.enabled) return [];
    return [
      {
        namespace: p.metadata?.namespace ?? '',
        name: p.metadata?.name ?? '',
        role: parsed.spec?.role ?? 'invalid spec',
      },
    ];
  });
}

/**
 * Why uninstall refuses: a table of the claims with what disables each (for
 * stderr), and the one-line error after it.
 */
export function refusal(
  claims: readonly Replicated[],
  context: string,
): { table: string; message: string } {
  const lines = claims.map((c) =>
    c.role === 'destination'
      ? `  ${c.namespace}/${c.name}   destination: disable its source`
      : `  ${c.namespace}/${c.name}   ${c.role}: kubectl scribe disable pvc ${c.name} -n ${c.namespace} --context ${context}`,
  );
  const n = claims.length;
  return {
    table: `Replicated PVCs in context "${context}":\n${lines.join('\n')}\n`,
    message: `${n} PVC${n === 1 ? ' is' : 's are'} still replicated in context "${context}" (listed above): without Scribe a sync in progress stops half-way, its temporary copies and endpoints left behind; disable ${n === 1 ? 'it' : 'them'} first, or pass --force to remove Scribe anyway`,
  };
}

/**
 * The order of removal: the webhook configurations first (so no write waits
 * on a webhook that is going away), the namespaced parts with their
 * namespace, the cluster-wide RBAC and policies last.
 */
export function removalOrder(objects: readonly ManifestObject[]): ManifestObject[] {
  const rank = (o: ManifestObject): number => {
    if (/WebhookConfiguration$/.test(o.kind)) return 0;
    if (o.kind === 'ValidatingAdmissionPolicyBinding') return 1;
    if (o.metadata.namespace) return 2;
    if (o.kind === 'Namespace') return 3;
    return 4;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

/** Cluster-wide kinds, listed by label; the namespaced ones go with the namespace. */
export const clusterKinds: readonly KindInfo[] = kinds.filter(
  (k) => !k.namespaced && k.kind !== 'Namespace',
);

const identity = (o: ManifestObject) =>
  `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Applied by `manager` with server-side apply (the object's managedFields say so). */
export function appliedBy(o: ManifestObject, manager: string): boolean {
  const entries = o.metadata.managedFields as
    { manager?: string; operation?: string }[] | undefined;
  return (entries ?? []).some((m) => m.manager === manager && m.operation === 'Apply');
}

/**
 * What an earlier install applied that this build no longer holds (an
 * upgrade that drops an object): labelled as Scribe's, applied by install's
 * field manager, and not in `rendered`. Objects Scribe's programs made at run
 * time (the webhook's CA Secret) have another manager and stay.
 */
export function prunable(
  found: readonly ManifestObject[],
  rendered: readonly ManifestObject[],
  manager: string,
): ManifestObject[] {
  const keep = new Set(rendered.map(identity));
  return found.filter(
    (o) => o.kind !== 'Namespace' && !keep.has(identity(o)) && appliedBy(o, manager),
  );
}

/** Every kind to look through for Scribe's objects: namespaced ones in `namespace`. */
export function installedKinds(): readonly KindInfo[] {
  return kinds.filter((k) => k.kind !== 'Namespace');
}
