import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { statusPrefix, specPrefix } from '../../model/src/index.ts';
import { createHandlers } from './handlers.ts';
import { DEFAULT_MAX_BODY_BYTES, createApp, listenTls } from './http-edge.ts';
import { injectedAnnotation, readLive } from './live-reading.ts';
import { MANUAL, nextRun, startLiveSync } from './live-sync.ts';
import { type Logger, createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { PvcWatchCache } from './pvc-cache.ts';
import { OLDEST, type ServerCapabilities, capabilitiesOf } from './server-capabilities.ts';
import { DEFAULT_RESOURCES, type SidecarMode } from './sidecar.ts';
import { type CertificateSource, FileSource } from './tls-source.ts';
import { CONFIGURATION_NAME, excludedNamespaces } from './webhook-configurations.ts';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

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

async function serverCapabilities(kc: KubeConfig, log: Logger): Promise<ServerCapabilities> {
  try {
    const v = await Promise.race([
      kc.makeApiClient(VersionApi).getCode(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref(),
      ),
    ]);
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
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault(); // in a pod: the ServiceAccount
  const caps = opts.sidecarMode === 'auto' ? await serverCapabilities(kc, log) : undefined;
  const mode: SidecarMode =
    opts.sidecarMode === 'auto'
      ? caps!.nativeSidecars
        ? 'native'
        : 'container'
      : opts.sidecarMode;

  const metrics = createMetrics();
  const cache = new PvcWatchCache(kc, {
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
    const { ca, created } = await loadOrCreateCa(kc, opts.namespace, opts.caSecret);
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
      const changed = await injectCaBundle(kc, CONFIGURATION_NAME, tls.current().caBundlePem);
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
  const handlers = createHandlers({
    pvcs: cache,
    readLive,
    sidecar: { image: opts.sidecarImage, resources: DEFAULT_RESOURCES, mode },
    excludedNamespaces: excluded,
    markerAnnotation: injectedAnnotation,
  });
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
    },
  };
}

export function buildProgram(log: () => Logger): Command {
  const version = packageVersion();
  const program = new Command('scribe-webhook')
    .description(
      "Scribe's admission webhook: checks replication specs on claims, injects the live-copy sidecar into pods",
    )
    .version(version)
    .showHelpAfterError('(run "scribe-webhook --help" for usage)')
    .option(
      '--kubeconfig <file>',
      'kubeconfig to reach the API server (default: in-cluster, then $KUBECONFIG)',
    )
    .option('--port <n>', 'HTTPS port', integer(0, 65535), 8443)
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes')
    .option('--tls-key <file>', 'its private key (PEM)')
    .option('--tls-ca <file>', 'the CA that signed it (reported, not served)')
    .option(
      '--namespace <ns>',
      "Scribe's namespace (never intercepted)",
      process.env.POD_NAMESPACE ?? 'scribe-system',
    )
    .option(
      '--service <name>',
      "the webhook's Service (names in the certificate)",
      'scribe-webhook',
    )
    .option(
      '--ca-secret <name>',
      'Secret holding the webhook CA when no --tls-cert is given',
      'scribe-webhook-ca',
    )
    .option('--no-inject-ca-bundle', 'leave caBundle to someone else (cert-manager)')
    .option(
      '--sidecar-image <image>',
      'image of the live-copy sidecar',
      `ghcr.io/backube/scribe:${version}`,
    )
    .addOption(
      new Option(
        '--sidecar-mode <mode>',
        'native sidecars (1.29+), regular containers, or by server version',
      )
        .choices(['auto', 'native', 'container'])
        .default('auto'),
    )
    .option('--watch-namespace <ns>', 'watch claims in one namespace only (default: all)')
    .option(
      '--max-body-bytes <n>',
      'largest request body accepted',
      integer(1024, 64 * 1024 * 1024),
      DEFAULT_MAX_BODY_BYTES,
    )
    .action(async (opts: ServeOptions) => {
      const l = log();
      const server = await serve(opts, l);
      const stop = (signal: string) => {
        l.info({ signal }, 'stopping');
        // In-flight reviews finish; the apiserver retries elsewhere for new ones.
        void server.close().then(() => l.flush(() => process.exit(0)));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });

  program
    .command('live-sync')
    .description(
      'the live-copy sidecar: run `scribe-mover ARGS...` at start and then on the schedule',
    )
    .requiredOption('--schedule <cron>', 'a cron expression (UTC) or "manual"', (v: string) => {
      if (v === MANUAL) return v;
      try {
        nextRun(v, new Date());
      } catch (err) {
        throw new InvalidArgumentError(`"${v}" is not a schedule: ${(err as Error).message}`);
      }
      return v;
    })
    .option('--mover <command>', 'the mover command', 'scribe-mover')
    .argument('<mover-args...>', 'arguments for the mover, after --')
    .action(async (moverArgs: string[], opts: { schedule: string; mover: string }) => {
      const loop = startLiveSync({
        schedule: opts.schedule,
        moverArgs,
        moverCommand: opts.mover.split(' '),
        log: log(),
      });
      process.once('SIGTERM', () => loop.stop());
      process.once('SIGINT', () => loop.stop());
      await loop.done;
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  let logger: Logger | undefined;
  const log = () => (logger ??= createLogger());
  try {
    await buildProgram(log).parseAsync(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
