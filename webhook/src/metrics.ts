import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per server (tests run several in one process).
export interface WebhookMetrics {
  registry: Registry;
  requests: Counter<'webhook' | 'operation' | 'result'>;
  duration: Histogram<'webhook' | 'operation' | 'result'>;
  injections: Counter<'mode'>;
  rejections: Counter<'reason'>;
  badRequests: Counter<'webhook'>;
  certificateExpiry: Gauge;
  cacheSynced: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'scribe_webhook_' });
  return {
    registry,
    requests: new Counter({
      name: 'scribe_webhook_requests_total',
      help: 'AdmissionReviews answered, by webhook, operation and result (allowed, patched, denied, error)',
      labelNames: ['webhook', 'operation', 'result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'scribe_webhook_request_duration_seconds',
      help: 'Time from the request body read to the answer written',
      labelNames: ['webhook', 'operation', 'result'],
      // An apiserver gives a webhook seconds; the interesting part is below 10 ms.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      registers: [registry],
    }),
    injections: new Counter({
      name: 'scribe_webhook_injections_total',
      help: 'Live-copy sidecars injected into pods, by sidecar mode',
      labelNames: ['mode'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'scribe_webhook_rejections_total',
      help: 'PersistentVolumeClaim requests denied, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    badRequests: new Counter({
      name: 'scribe_webhook_bad_requests_total',
      help: 'Requests answered with HTTP 400 (unreadable, oversized or not an AdmissionReview v1)',
      labelNames: ['webhook'],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'scribe_webhook_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time)',
      registers: [registry],
    }),
    cacheSynced: new Gauge({
      name: 'scribe_webhook_pvc_cache_synced',
      help: '1 once the PersistentVolumeClaim watch cache has listed, 0 before and while it relists',
      registers: [registry],
    }),
  };
}
