import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MAX_BODY_BYTES } from './defaults.ts';
import { MANUAL, nextRun, startLiveSync } from './live-sync.ts';
import { type Logger, createLogger } from './log.ts';
import type { ServeOptions } from './serve.ts';

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
      const { serve } = await import('./serve.ts');
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
