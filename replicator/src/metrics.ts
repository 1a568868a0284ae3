// Prometheus metrics per replicated PVC and target (a source's destination:
// `default` for the unsuffixed one, else the name of its `.TARGET` keys).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';

export function replicatorMetrics(registry = new Registry()) {
  const labelNames = ['namespace', 'pvc', 'target'] as const;
  const duration = new Histogram({
    name: 'scribe_sync_duration_seconds',
    help: 'Duration of completed syncs.',
    labelNames: [...labelNames, 'result'],
    buckets: [1, 5, 15, 60, 300, 900, 3600, 14400],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'scribe_last_success_timestamp_seconds',
    help: 'When the last sync of this PVC succeeded (Unix time).',
    labelNames,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'scribe_sync_bytes_total',
    help: 'Bytes that crossed the wire in syncs.',
    labelNames,
    registers: [registry],
  });
  const missed = new Counter({
    name: 'scribe_missed_intervals_total',
    help: 'Scheduled syncs that did not start because a sync still ran or the replicator was down.',
    labelNames,
    registers: [registry],
  });
  const outOfSync = new Gauge({
    name: 'scribe_out_of_sync',
    help: '1 when the last sync of this PVC failed.',
    labelNames,
    registers: [registry],
  });
  const key = (pvc: V1PersistentVolumeClaim, target: string) => ({
    namespace: pvc.metadata?.namespace ?? '',
    pvc: pvc.metadata?.name ?? '',
    target,
  });
  return {
    registry,
    syncFinished(
      pvc: V1PersistentVolumeClaim,
      r: { ok: boolean; durationSeconds: number; bytes: number },
      target: string,
    ) {
      const k = key(pvc, target);
      duration.observe({ ...k, result: r.ok ? 'succeeded' : 'failed' }, r.durationSeconds);
      bytes.inc(k, r.bytes);
      outOfSync.set(k, r.ok ? 0 : 1);
      if (r.ok) lastSuccess.set(k, Date.now() / 1000);
    },
    missed(pvc: V1PersistentVolumeClaim, n: number, target: string) {
      missed.inc(key(pvc, target), n);
    },
  };
}
