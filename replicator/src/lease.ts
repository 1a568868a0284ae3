// Only one replicator drives syncs: the holder of a coordination.k8s.io Lease.
// Taking it over uses the Lease's resourceVersion, so two candidates racing
// for an expired lease cannot both win (the loser gets 409 Conflict).
import type { V1Lease } from '@kubernetes/client-node';

export interface LeaseView {
  holder?: string;
  renewTime?: Date;
  durationSeconds: number;
}

export function viewOf(lease: V1Lease | undefined): LeaseView | undefined {
  if (!lease) return undefined;
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  return {
    holder: lease.spec?.holderIdentity,
    renewTime: renew ? new Date(renew) : undefined,
    durationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
  };
}

/** Whether `me` may hold the lease now: it is mine, free, or expired. */
export function mayHold(view: LeaseView | undefined, me: string, now: Date): boolean {
  if (!view || !view.holder || view.holder === me) return true;
  if (!view.renewTime) return true;
  return now.getTime() > view.renewTime.getTime() + view.durationSeconds * 1000;
}

export function leaseBody(
  name: string,
  namespace: string,
  me: string,
  now: Date,
  durationSeconds: number,
  previous?: V1Lease,
): V1Lease {
  const mine = previous?.spec?.holderIdentity === me;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace,
      ...(previous?.metadata?.resourceVersion
        ? { resourceVersion: previous.metadata.resourceVersion }
        : {}),
    },
    spec: {
      holderIdentity: me,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine && previous?.spec?.acquireTime ? previous.spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (mine || !previous ? 0 : 1),
    },
  };
}

/**
 * What a holder writes when it stops (a rolling update, a deleted pod): the
 * Lease left free, so a standby leads at its next pass instead of waiting for
 * it to expire (client-go's ReleaseOnCancel). Undefined when `me` no longer
 * holds it. The resourceVersion keeps it from freeing a newer holder's Lease.
 */
export function releasedLease(current: V1Lease | undefined, me: string, now: Date) {
  if (!current || current.spec?.holderIdentity !== me) return undefined;
  return {
    metadata: { resourceVersion: current.metadata?.resourceVersion },
    spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: now },
  };
}
