import type { VersionInfo } from '@kubernetes/client-node';
import { InvalidArgumentError } from 'commander';
import { statusPrefix, specPrefix } from '../../model/src/index.ts';
import { accessReviewer } from './access-review.ts';
import { ACCESS_REVIEW_TIMEOUT_MS } from './defaults.ts';
import { createHandlers } from './handlers.ts';
import { createApp, listenTls } from './http-edge.ts';
import { inClusterAccess, kubeconfigAccess } from './kube-access.ts';
import { KubeClient } from './kube-client.ts';
import { injectedAnnotation, readLive } from './live-reading.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { PvcWatchCache } from './pvc-cache.ts';
import { OLDEST, type ServerCapabilities, capabilitiesOf } from './server-capabilities.ts';
import { DEFAULT_RESOURCES, type SidecarMode } from './sidecar.ts';
import { type CertificateSource, FileSource } from './tls-source.ts';
import { CONFIGURATION_NAME, excludedNamespaces } from './webhook-configurations.ts';

// The server role: everything it needs is loaded here, so the sidecar's
// `live-sync` role starts without the API client, express or metrics.

export interface ServeOptions {
  kubeconfig?: string;
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  namespace: string;
  service: string;
  caSecret: string;
  injectCaBundle: boolean;
  sidecarImage: string;
  sidecarMode: 'auto' | SidecarMode;
  watchNamespace?: string;
  maxBodyBytes: number;
}

async function serverCapabilities(kube: KubeClient, log: Logger): Promise<ServerCapabilities> {
  try {
    const v = await kube.request<VersionInfo>('GET', '/version', { timeoutMs: 10_000 });
    const caps = capabilitiesOf(v);
    log.info({ version: v.gitVersion, ...caps }, 'API server version');
    return caps;
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      'cannot read the API server version; assuming the oldest supported (1.24)',
    );
    return OLDEST;
  }
}

export async function serve(
  opts: ServeOptions,
  log: Logger,
): Promise<{ close(): Promise<void>; port: number }> {
  const kube = new KubeClient(
    opts.kubeconfig ? await kubeconfigAccess(opts.kubeconfig) : inClusterAccess(),
  );
  const caps = opts.sidecarMode === 'auto' ? await serverCapabilities(kube, log) : undefined;
  const mode: SidecarMode =
    opts.sidecarMode === 'auto'
      ? caps!.nativeSidecars
        ? 'native'
        : 'container'
      : opts.sidecarMode;

  const metrics = createMetrics();
  const cache = new PvcWatchCache(kube, {
    log,
    namespace: opts.watchNamespace,
    onSynced: (s) => metrics.cacheSynced.set(s ? 1 : 0),
  });
  void cache.start();

  let tls: CertificateSource;
  if (opts.tlsCert && opts.tlsKey) {
    tls = await FileSource.open({
      certFile: opts.tlsCert,
      keyFile: opts.tlsKey,
      caFile: opts.tlsCa,
    });
  } else if (opts.tlsCert || opts.tlsKey) {
    throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  } else {
    // node-forge is loaded only when the webhook is its own authority.
    const { loadOrCreateCa } = await import('./tls-bootstrap.ts');
    const { SelfSignedSource } = await import('./tls-self-signed.ts');
    const { serviceDnsNames } = await import('./tls-authority.ts');
    const { ca, created } = await loadOrCreateCa(kube, opts.namespace, opts.caSecret);
    log.info(
      { secret: `${opts.namespace}/${opts.caSecret}`, created, notAfter: ca.notAfter },
      'webhook CA',
    );
    tls = new SelfSignedSource({ ca, dnsNames: serviceDnsNames(opts.service, opts.namespace) });
  }
  tls.on('error', (err) =>
    log.error({ err: err.message }, 'cannot reload the TLS certificate; keeping the current one'),
  );
  const observeExpiry = () =>
    metrics.certificateExpiry.set(tls.current().notAfter.getTime() / 1000);
  observeExpiry();
  tls.on('rotated', (m) => {
    observeExpiry();
    log.info({ notAfter: m.notAfter }, 'serving certificate rotated');
  });

  let caInjected = !opts.injectCaBundle || Boolean(opts.tlsCert);
  let caTimer: NodeJS.Timeout | undefined;
  const publishCa = async (attempt = 1): Promise<void> => {
    try {
      const { injectCaBundle } = await import('./tls-bootstrap.ts');
      const changed = await injectCaBundle(kube, CONFIGURATION_NAME, tls.current().caBundlePem);
      caInjected = true;
      log.info({ configurations: changed }, 'caBundle up to date');
    } catch (err) {
      const delay = Math.min(1000 * 2 ** attempt, 60_000);
      log.warn(
        { err: (err as Error).message, retryInMs: delay },
        'cannot set caBundle on the webhook configurations yet',
      );
      caTimer = setTimeout(() => void publishCa(attempt + 1), delay);
      caTimer.unref();
    }
  };
  if (!caInjected) void publishCa();

  const excluded = new Set([...excludedNamespaces(opts.namespace)]);
  const handlers = createHandlers(
    {
      pvcs: cache,
      readLive,
      sidecar: { image: opts.sidecarImage, resources: DEFAULT_RESOURCES, mode },
      excludedNamespaces: excluded,
      markerAnnotation: injectedAnnotation,
    },
    accessReviewer(kube, ACCESS_REVIEW_TIMEOUT_MS),
  );
  const app = createApp({
    ...handlers,
    metrics,
    log,
    sidecarMode: mode,
    maxBodyBytes: opts.maxBodyBytes,
    notReady: () => [
      ...(cache.synced ? [] : ['the claim cache has not listed yet']),
      ...(caInjected ? [] : ['caBundle not yet set on the webhook configurations']),
    ],
  });
  const running = await listenTls(app, tls, { port: opts.port, host: opts.host });
  log.info(
    {
      port: running.port,
      sidecarMode: mode,
      excluded: [...excluded],
      prefixes: [specPrefix, statusPrefix],
    },
    'listening',
  );
  return {
    port: running.port,
    close: async () => {
      clearTimeout(caTimer);
      tls.stop();
      await cache.stop();
      await running.close();
      kube.close();
    },
  };
}
