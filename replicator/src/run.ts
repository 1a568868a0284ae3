// The replicator's loop: hold the Lease, then reconcile every PVC that
// carries a Scribe spec (or Scribe's finalizer), one at a time, every interval. Everything it needs
// to resume is in the cluster, so a restart loses nothing.
import type { KubernetesObject, V1Lease, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeProblems, parseSpec } from '../../model/src/index.ts';
import { reconcileDestination } from './destination.ts';
import { apiErrorMessage, isStaleWrite, type Kube } from './kube.ts';
import type { BackoffPolicy } from './decide.ts';
import { cleanupTargets, decideLifecycle, finalizerPatch } from './finalizer.ts';
import { leaseBody, mayHold, releasedLease, viewOf } from './lease.ts';
import type { replicatorMetrics } from './metrics.ts';
import { observe, ownedBy, type Observed, type Owned } from './owned.ts';
import { eventRecorder } from './recorder.ts';
import { reconcileSource } from './source.ts';

export interface ReplicatorOptions {
  kube: Kube;
  log: Logger;
  metrics: ReturnType<typeof replicatorMetrics>;
  /** The namespace of the Lease (Scribe's own). */
  namespace: string;
  identity: string;
  intervalMs: number;
  leaseSeconds: number;
  image?: string;
  copyTimeoutSeconds: number;
  /** Retry backoff after failed syncs (default: 30 s doubling to 15 min). */
  backoff?: BackoffPolicy;
  /** Claims reconciled at once in a pass (default 4). */
  workers?: number;
  now?: () => Date;
}

const leaseName = 'scribe-replicator';

async function holdLease(o: ReplicatorOptions, now: Date): Promise<boolean> {
  const current = await o.kube.get<V1Lease>(
    'coordination.k8s.io/v1',
    'Lease',
    o.namespace,
    leaseName,
  );
  if (!mayHold(viewOf(current), o.identity, now)) return false;
  const body = leaseBody(leaseName, o.namespace, o.identity, now, o.leaseSeconds, current);
  try {
    if (current) await o.kube.mergePatch(current, { spec: body.spec, metadata: body.metadata });
    else await o.kube.create(body);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 409) return false; // another replicator won
    throw err;
  }
}

/** Deletes what Scribe made for a disabled or deleted claim, then lets the claim go. */
async function cleanUp(o: ReplicatorOptions, pvc: V1PersistentVolumeClaim, owned: Owned) {
  for (const x of cleanupTargets(owned)) await o.kube.delete(x as KubernetesObject);
  await o.kube.mergePatch(pvc, finalizerPatch(pvc, false));
  o.log.info(
    { namespace: pvc.metadata?.namespace, pvc: pvc.metadata?.name },
    pvc.metadata?.deletionTimestamp
      ? 'claim deleted; cleaned up'
      : 'replication disabled; cleaned up',
  );
}

/**
 * The last reconcile failure told to each claim's users, per replicator. A
 * claim that keeps failing gets one Warning Event per distinct failure, not
 * one per pass; success forgets it.
 */
const toldFailures = new WeakMap<ReplicatorOptions, Map<string, string>>();

async function tellFailure(
  o: ReplicatorOptions,
  recorder: ReturnType<typeof eventRecorder>,
  pvc: V1PersistentVolumeClaim,
  message: string | undefined,
): Promise<void> {
  let told = toldFailures.get(o);
  if (!told) toldFailures.set(o, (told = new Map()));
  const key = claimKey(pvc);
  if (message === undefined) {
    told.delete(key);
    return;
  }
  if (told.get(key) === message) return;
  told.set(key, message);
  await recorder.event(
    pvc,
    'Warning',
    'ReconcileFailed',
    `Scribe could not act on this claim and retries every pass: ${message}`,
  );
}

/** Claims reconciled at once in a pass by default; each claim's own steps stay in order. */
export const defaultWorkers = 4;

/** One claim of a pass. Returns whether it was reconciled (a source or destination). */
async function reconcileOne(
  o: ReplicatorOptions,
  recorder: ReturnType<typeof eventRecorder>,
  now: () => Date,
  seen: Observed,
  claim: V1PersistentVolumeClaim,
): Promise<boolean> {
  let pvc = claim;
  const parsed = parseSpec(pvc.metadata?.annotations);
  const where = { namespace: pvc.metadata?.namespace, pvc: pvc.metadata?.name };
  const owned = ownedBy(seen.owned, pvc);
  const life = decideLifecycle(pvc, parsed.enabled, parsed.spec);
  try {
    if (life.kind === 'clean-up') {
      await cleanUp(o, pvc, owned);
      return false;
    }
    if (life.kind === 'skip' || !parsed.spec) {
      if (parsed.enabled && !parsed.spec && !pvc.metadata?.deletionTimestamp) {
        o.log.warn(
          { ...where, problems: describeProblems(parsed.problems) },
          'invalid replication spec; skipped',
        );
      }
      return false;
    }
    // The finalizer goes on before anything is made for the claim.
    if (life.adopt) pvc = await o.kube.mergePatch(pvc, finalizerPatch(pvc, true));
    if (parsed.spec.role === 'source') {
      await reconcileSource(
        {
          kube: o.kube,
          recorder,
          now,
          image: o.image,
          copyTimeoutSeconds: o.copyTimeoutSeconds,
          backoff: o.backoff,
        },
        pvc,
        parsed.spec,
        owned,
      );
    } else {
      await reconcileDestination(
        {
          kube: o.kube,
          recorder,
          now,
          image: o.image,
          findClaim: (ns, name) =>
            seen.claims.find((x) => x.metadata?.namespace === ns && x.metadata?.name === name),
        },
        pvc,
        parsed.spec,
        owned,
      );
    }
    await tellFailure(o, recorder, pvc, undefined);
    forgetConflicts(o, pvc);
    return true;
  } catch (err) {
    const message = apiErrorMessage(err);
    // The claim changed under the pass (the plugin, kubectl, a provisioner):
    // the next pass starts from the new version, as a controller requeues on
    // a conflict. Only a claim that keeps conflicting is a failure to tell.
    if (isStaleWrite(err) && noteConflict(o, pvc) < conflictsBeforeFailure) {
      o.log.info({ ...where, err: message }, 'claim changed during the pass; next pass retries');
      return false;
    }
    o.log.error({ ...where, err: message }, 'reconcile failed; will retry');
    await tellFailure(o, recorder, pvc, message);
    return false;
  }
}

/** Passes in a row a claim may be changed under before that is told as a failure. */
const conflictsBeforeFailure = 3;
const conflicts = new WeakMap<ReplicatorOptions, Map<string, number>>();

/** Counts this claim's conflicts in a row; a pass that reconciles it resets the count. */
function noteConflict(o: ReplicatorOptions, pvc: V1PersistentVolumeClaim): number {
  let seen = conflicts.get(o);
  if (!seen) conflicts.set(o, (seen = new Map()));
  const key = claimKey(pvc);
  const n = (seen.get(key) ?? 0) + 1;
  seen.set(key, n);
  return n;
}

function forgetConflicts(o: ReplicatorOptions, pvc: V1PersistentVolumeClaim): void {
  conflicts.get(o)?.delete(claimKey(pvc));
}

function claimKey(pvc: V1PersistentVolumeClaim): string {
  return pvc.metadata?.uid ?? `${pvc.metadata?.namespace}/${pvc.metadata?.name}`;
}

/**
 * One pass over all PVCs: five list calls (owned.ts), then each claim from
 * what they returned, `workers` claims at a time. `stillLeading` is asked
 * before each claim; once it answers false the pass stops. Returns how many
 * claims were reconciled.
 */
export async function reconcileAll(
  o: ReplicatorOptions,
  stillLeading?: () => Promise<boolean>,
): Promise<number> {
  const now = o.now ?? (() => new Date());
  const recorder = eventRecorder(o.kube, now, o.identity, o.metrics);
  const seen = await observe(o.kube);
  let next = 0;
  let n = 0;
  const worker = async () => {
    for (;;) {
      if (stillLeading && !(await stillLeading())) return;
      // Taken after the await: meanwhile the other workers may have taken
      // the last claims.
      const claim = seen.claims[next++];
      if (!claim) return;
      if (await reconcileOne(o, recorder, now, seen, claim)) n++;
    }
  };
  const workers = Math.max(1, o.workers ?? defaultWorkers);
  await Promise.all(Array.from({ length: workers }, worker));
  return n;
}

/**
 * Renews the Lease during a long pass (every third of its duration), so a
 * pass longer than the Lease cannot let a standby start driving the same
 * claims; answers false once the Lease is lost or cannot be renewed.
 */
function leaseKeeper(o: ReplicatorOptions, now: () => Date): () => Promise<boolean> {
  let renewed = now().getTime();
  let held = true;
  let inflight: Promise<boolean> | undefined;
  return async () => {
    if (!held) return false;
    if (now().getTime() - renewed < (o.leaseSeconds * 1000) / 3) return true;
    inflight ??= holdLease(o, now())
      .catch((err: unknown) => {
        o.log.error({ err: (err as Error).message }, 'could not renew the Lease; pass stopped');
        return false;
      })
      .then((h) => {
        held = h;
        renewed = now().getTime();
        if (!h) o.log.warn({ identity: o.identity }, 'lost the Lease mid-pass; pass stopped');
        inflight = undefined;
        return h;
      });
    return inflight;
  };
}

/** Runs until `signal` aborts. */
export async function runReplicator(o: ReplicatorOptions, signal: AbortSignal): Promise<void> {
  const now = o.now ?? (() => new Date());
  let leading = false;
  while (!signal.aborted) {
    try {
      const held = await holdLease(o, now());
      if (held !== leading) o.log.info({ identity: o.identity }, held ? 'leading' : 'standing by');
      leading = held;
      if (leading) await reconcileAll(o, leaseKeeper(o, now));
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'replicator pass failed; will retry');
    }
    await new Promise((r) => {
      const t = setTimeout(r, o.intervalMs);
      signal.addEventListener('abort', () => (clearTimeout(t), r(undefined)), { once: true });
    });
  }
  if (leading) await releaseLease(o, now());
}

/** Frees the Lease on the way out; if that fails it simply expires. */
async function releaseLease(o: ReplicatorOptions, now: Date): Promise<void> {
  try {
    const current = await o.kube.get<V1Lease>(
      'coordination.k8s.io/v1',
      'Lease',
      o.namespace,
      leaseName,
    );
    const patch = releasedLease(current, o.identity, now);
    if (!current || !patch) return;
    await o.kube.mergePatch(current, patch);
    o.log.info({ identity: o.identity }, 'released the Lease');
  } catch (err) {
    o.log.warn({ err: apiErrorMessage(err) }, 'could not release the Lease; it expires instead');
  }
}
