// Prometheus metrics per replicated PVC.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';

export function replicatorMetrics(registry = new Registry()) {
  const labelNames = ['namespace', 'pvc'] as const;
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
  const key = (pvc: V1PersistentVolumeClaim) => ({
    namespace: pvc.metadata?.namespace ?? '',
    pvc: pvc.metadata?.name ?? '',
  });
  return {
    registry,
    syncFinished(
      pvc: V1PersistentVolumeClaim,
      r: { ok: boolean; durationSeconds: number; bytes: number },
    ) {
      duration.observe({ ...key(pvc), result: r.ok ? 'succeeded' : 'failed' }, r.durationSeconds);
      bytes.inc(key(pvc), r.bytes);
      outOfSync.set(key(pvc), r.ok ? 0 : 1);
      if (r.ok) lastSuccess.set(key(pvc), Date.now() / 1000);
    },
    missed(pvc: V1PersistentVolumeClaim, n: number) {
      missed.inc(key(pvc), n);
    },
  };
}
