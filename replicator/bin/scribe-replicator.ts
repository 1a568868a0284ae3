#!/usr/bin/env -S node --disable-sigusr1
// The in-cluster replicator: carries out the replication specs on this
// cluster's PVCs (scheduled clone/snapshot syncs, destination endpoints and
// snapshots). Runs in Scribe's image next to the webhook.
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import module from 'node:module';
import { parseArgs } from 'node:util';

module.enableCompileCache?.();

// Node.js answers SIGUSR1 by opening its inspector on 127.0.0.1:9229, a
// debugger port into the process that holds the API token. The #! flag turns
// that off; the listener does too when started as `node scribe-replicator.ts`.
process.on('SIGUSR1', () => {});

const usage = `Usage: scribe-replicator [--kubeconfig FILE] [--context NAME] [--namespace NS]
  [--interval SECONDS] [--image IMAGE]
  [--metrics-port PORT] [--identity NAME] [--copy-timeout SECONDS] [--retry-base SECONDS]
  [--workers N]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'scribe-system' },
      interval: { type: 'string', default: '5' },
      image: { type: 'string' },
      'metrics-port': { type: 'string', default: '9090' },
      identity: { type: 'string', default: process.env.POD_NAME ?? hostname() },
      'copy-timeout': { type: 'string', default: '600' },
      'retry-base': { type: 'string', default: '30' },
      workers: { type: 'string', default: '4' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const interval = Number(values.interval);
  if (!(interval >= 0.1)) throw new Error(`--interval must be a number of seconds ≥ 0.1`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new Error(`--workers must be a whole number from 1 to 64 (claims reconciled at once)`);
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { pino } = await import('pino');
  const { kubeFrom } = await import('../src/kube.ts');
  const { replicatorMetrics } = await import('../src/metrics.ts');
  const { runReplicator } = await import('../src/run.ts');
  const kc = new KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  if (values.context) kc.setCurrentContext(values.context);
  const log = pino({ base: { component: 'replicator' } }, pino.destination(2));
  const metrics = replicatorMetrics();
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void metrics.registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
      });
    } else if (req.url === '/healthz') res.writeHead(200).end('ok');
    else res.writeHead(404).end();
  });
  server.listen(Number(values['metrics-port']));
  const abort = new AbortController();
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => abort.abort());
  log.info({ identity: values.identity, namespace: values.namespace }, 'starting');
  await runReplicator(
    {
      kube: kubeFrom(kc),
      log,
      metrics,
      namespace: values.namespace,
      identity: values.identity,
      intervalMs: interval * 1000,
      leaseSeconds: 15,
      image: values.image,
      copyTimeoutSeconds: Number(values['copy-timeout']),
      backoff: { baseSeconds: Number(values['retry-base']), capSeconds: 15 * 60 },
      workers,
    },
    abort.signal,
  );
  server.close();
}

main().catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = 1;
});
