// The replicator's loop: hold the Lease, then reconcile every PVC that
// carries a Scribe spec, one at a time, every interval. Everything it needs
// to resume is in the cluster, so a restart loses nothing.
import type { V1Lease, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeProblems, parseSpec } from '../../model/src/index.ts';
import { reconcileDestination } from './destination.ts';
import type { Kube } from './kube.ts';
import type { BackoffPolicy } from './decide.ts';
import { leaseBody, mayHold, viewOf } from './lease.ts';
import type { replicatorMetrics } from './metrics.ts';
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

/** One pass over all PVCs. Returns how many were reconciled. */
export async function reconcileAll(o: ReplicatorOptions): Promise<number> {
  const now = o.now ?? (() => new Date());
  const recorder = eventRecorder(o.kube, now, o.identity, o.metrics);
  const pvcs = await o.kube.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim');
  let n = 0;
  for (const pvc of pvcs) {
    const parsed = parseSpec(pvc.metadata?.annotations);
    if (!parsed.enabled || pvc.metadata?.deletionTimestamp) continue;
    const where = { namespace: pvc.metadata?.namespace, pvc: pvc.metadata?.name };
    if (!parsed.spec) {
      o.log.warn(
        { ...where, problems: describeProblems(parsed.problems) },
        'invalid replication spec; skipped',
      );
      continue;
    }
    try {
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
        );
      } else {
        await reconcileDestination(
          { kube: o.kube, recorder, now, image: o.image },
          pvc,
          parsed.spec,
        );
      }
      n++;
    } catch (err) {
      o.log.error({ ...where, err: (err as Error).message }, 'reconcile failed; will retry');
    }
  }
  return n;
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
      if (leading) await reconcileAll(o);
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'replicator pass failed; will retry');
    }
    await new Promise((r) => {
      const t = setTimeout(r, o.intervalMs);
      signal.addEventListener('abort', () => (clearTimeout(t), r(undefined)), { once: true });
    });
  }
}
