// What `kubectl scribe reverse pvc` does after a failover: the claim the
// application now uses (at the DR site) becomes the source, and the primary's
// old claim becomes its destination, so that only what differs crosses back.
// The old claim is still the source of the replication that failover cut: its
// spec is retired first, because a claim cannot be source and destination at
// once. Pure; the action then enables replication the usual way.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import {
  disableAnnotationsPatch,
  drKeys,
  parsePvcRef,
  parseSpec,
  renderPvcRef,
  type PvcRef,
  type Trigger,
} from '../../../model/src/index.ts';
import { CliError } from '../errors.ts';
import type { AnnotationPatch } from '../kube/cluster.ts';

export interface ReverseRequest {
  /** The application's claim at this site (the DR site after a failover). */
  name: string;
  namespace: string;
  context: string;
  /** --to: the new destination; default: the claim this one was failed over from. */
  to?: PvcRef | undefined;
  now: string;
}

export interface ReverseState {
  claim: V1PersistentVolumeClaim | undefined;
  /** The new destination's claim, if it exists. */
  target: V1PersistentVolumeClaim | undefined;
  /** Pods at the target that mount its claim (other than Scribe's own). */
  targetUsers: readonly V1Pod[];
}

export type ReversePlan =
  | { kind: 'done'; message: string }
  /**
   * This claim still receives from `source` (the DR site after an earlier
   * reverse): fail back — a final sync once the application there is stopped,
   * this claim taken over as it then is, and replication turned around.
   */
  | { kind: 'failback'; source: PvcRef }
  | {
      kind: 'steps';
      target: PvcRef;
      /** Retire the target's old source spec: the annotations to set, the Secret to delete. */
      retire?: { annotations: AnnotationPatch; secret: string };
      /** The old replication's schedule, reused unless --schedule says otherwise. */
      trigger?: Trigger;
      /** The target holds data that is overwritten (ask first). */
      overwrites: boolean;
      warnings: string[];
    };

const claimRef = (r: PvcRef) =>
  `persistentvolumeclaim "${r.name}" (context ${r.context}, namespace ${r.namespace})`;

/** Where a claim came from, as failover recorded it. */
export function failedOverFrom(claim: V1PersistentVolumeClaim | undefined): PvcRef | undefined {
  const v = claim?.metadata?.annotations?.[drKeys.failedOverFrom];
  const p = v ? parsePvcRef(v) : undefined;
  return p?.ok ? p.value : undefined;
}

export function planReverse(r: ReverseRequest, s: ReverseState): ReversePlan {
  const here: PvcRef = { context: r.context, namespace: r.namespace, name: r.name };
  if (!s.claim) {
    throw new CliError(
      `persistentvolumeclaims "${r.name}" not found (context ${r.context}, namespace ${r.namespace}): name the claim the application uses at this site`,
    );
  }
  const parsed = parseSpec(s.claim.metadata?.annotations);
  const target = r.to ?? failedOverFrom(s.claim);
  if (parsed.spec?.role === 'destination') {
    if (r.to && renderPvcRef(r.to) !== renderPvcRef(parsed.spec.source)) {
      throw new CliError(
        `${claimRef(here)} receives from ${renderPvcRef(parsed.spec.source)}: it can only fail back to it (leave out --to)`,
      );
    }
    return { kind: 'failback', source: parsed.spec.source };
  }
  if (!target) {
    throw new CliError(
      `${claimRef(here)} was not failed over (no ${drKeys.failedOverFrom} annotation): name the new destination with --to CONTEXT[/NAMESPACE[/PVC]]`,
    );
  }
  if (parsed.spec?.role === 'source') {
    if (renderPvcRef(parsed.spec.destination) === renderPvcRef(target)) {
      return {
        kind: 'done',
        message: `persistentvolumeclaim/${r.name} unchanged: already replicating to ${renderPvcRef(target)}`,
      };
    }
    throw new CliError(
      `${claimRef(here)} already replicates to ${renderPvcRef(parsed.spec.destination)}: disable that first (kubectl scribe disable pvc ${r.name}), or reverse to it with --to ${renderPvcRef(parsed.spec.destination)}`,
    );
  }

  const warnings: string[] = [];
  if (!s.target) {
    warnings.push(
      `${claimRef(target)} does not exist: it is created, and all the data crosses, not only the differences`,
    );
    return { kind: 'steps', target, overwrites: false, warnings };
  }
  const users = s.targetUsers.map((p) => p.metadata?.name).filter(Boolean);
  if (users.length) {
    throw new CliError(
      `${claimRef(target)} is in use by pod(s) ${users.join(', ')}: stop the application there first (reverse overwrites that volume with this site's data), e.g. kubectl scale --context ${target.context} -n ${target.namespace} deployment/NAME --replicas=0`,
    );
  }
  const targetSpec = parseSpec(s.target.metadata?.annotations);
  let retire: { annotations: AnnotationPatch; secret: string } | undefined;
  let trigger: Trigger | undefined;
  if (targetSpec.spec?.role === 'source') {
    const d = targetSpec.spec.destination;
    // Only the replication this claim was failed over from is retired here.
    const from = failedOverFrom(s.claim);
    const same = (a: PvcRef, b: PvcRef) => renderPvcRef(a) === renderPvcRef(b);
    if (!same(d, here) && !(from && same(from, target))) {
      throw new CliError(
        `${claimRef(target)} replicates to ${renderPvcRef(d)}, not to this claim: disable it first (kubectl scribe disable pvc ${target.name} --context ${target.context} -n ${target.namespace})`,
      );
    }
    trigger = targetSpec.spec.trigger;
    retire = {
      annotations: {
        ...disableAnnotationsPatch(s.target.metadata?.annotations),
        [drKeys.reversedAt]: r.now,
        [drKeys.reversedFrom]: renderPvcRef(here),
      },
      secret: targetSpec.spec.secret,
    };
  } else if (targetSpec.spec?.role === 'destination') {
    if (renderPvcRef(targetSpec.spec.source) !== renderPvcRef(here)) {
      throw new CliError(
        `${claimRef(target)} is the destination of ${renderPvcRef(targetSpec.spec.source)}: pick another destination with --to`,
      );
    }
  } else if (targetSpec.problems.length) {
    throw new CliError(
      `${claimRef(target)} has invalid Scribe annotations; see kubectl scribe status pvc ${target.name} --context ${target.context}`,
    );
  }
  warnings.push(
    `${claimRef(target)} is overwritten with this site's data: what was written there after its last sync is lost`,
  );
  return {
    kind: 'steps',
    target,
    ...(retire ? { retire } : {}),
    ...(trigger ? { trigger } : {}),
    overwrites: true,
    warnings,
  };
}
