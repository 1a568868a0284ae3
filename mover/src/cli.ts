import { constants as osConstants } from 'node:os';
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseEndpoint } from './endpoint.ts';
import { generateKeys, loadKey } from './keys.ts';
import { createLogger } from './log.ts';
import { cipherPreference, cryptoPath } from './ssh-transport.ts';
import { volumeKind } from './volume.ts';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function endpoint(value: string) {
  try {
    return parseEndpoint(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function buildProgram(): Command {
  const program = new Command('scribe-mover')
    .description("Scribe's data mover: rsync delta copy over SSH between a volume and its replica")
    .showHelpAfterError('(run "scribe-mover help <command>" for usage)')
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error:/, 'error:')) });

  program
    .command('keygen')
    .description('create a per-replication key pair for the sender and one for the receiver')
    .requiredOption('--out <dir>', 'directory for client_ed25519[.pub] and host_ed25519[.pub]')
    .option('--comment <text>', 'comment stored in the keys', 'scribe')
    .action(async (opts: { out: string; comment: string }) => {
      const fingerprints = await generateKeys(opts.out, opts.comment);
      process.stdout.write(`${JSON.stringify({ dir: opts.out, fingerprints })}\n`);
    });

  program
    .command('receive')
    .description(
      'the destination: an SSH endpoint that only accepts Scribe transfers into the volume',
    )
    .requiredOption(
      '--volume <path>',
      'directory (Filesystem volume) or block device/image (Block volume)',
    )
    .requiredOption(
      '--listen <host:port>',
      'address to listen on, e.g. 0.0.0.0:2222 or [::]:2222',
      endpoint,
    )
    .requiredOption('--host-key <file>', "this endpoint's private host key (OpenSSH format)")
    .requiredOption('--authorized-key <file>', "the sender's public key; no other key is accepted")
    .option('--once', 'exit 0 after one complete sync (non-zero if none completes)')
    .option('--state-dir <dir>', 'where the completion marker goes (default: VOLUME/.scribe)')
    .option(
      '--timeout <seconds>',
      'with --once: give up if no sync completes in time',
      integer(1, 604800),
    )
    .option(
      '--io-timeout <seconds>',
      'abort a transfer whose link stalls this long',
      integer(5, 3600),
      120,
    )
    .action(
      async (opts: {
        volume: string;
        listen: ReturnType<typeof parseEndpoint>;
        hostKey: string;
        authorizedKey: string;
        once?: boolean;
        stateDir?: string;
        timeout?: number;
        ioTimeout: number;
      }) => {
        const log = createLogger('receiver');
        const kind = await volumeKind(opts.volume);
        await loadKey(opts.hostKey, 'host key', 'private');
        // Each role loads only its own modules: send starts once per sync.
        const { startReceiver } = await import('./receiver.ts');
        const receiver = await startReceiver({
          volume: opts.volume,
          kind,
          listen: opts.listen,
          hostKey: await readFile(opts.hostKey),
          authorizedKey: await loadKey(opts.authorizedKey, 'authorized key'),
          once: Boolean(opts.once),
          stateDir: opts.stateDir,
          ioTimeoutSeconds: opts.ioTimeout,
          log,
        });
        const stop = (signal: string) => {
          log.info({ signal }, opts.once ? 'stopped before a sync completed' : 'stopping');
          receiver.close(opts.once ? 1 : 0);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // Only now: whoever waits for this line may stop us at once.
        log.info(
          { host: opts.listen.host, port: receiver.port, kind, once: Boolean(opts.once) },
          'listening',
        );
        if (opts.once && opts.timeout) {
          setTimeout(() => {
            log.error({ timeoutSeconds: opts.timeout }, 'no sync completed in time');
            receiver.close(1);
          }, opts.timeout * 1000).unref();
        }
        process.exitCode = await receiver.done;
        process.exit();
      },
    );

  program
    .command('send')
    .description('the source: send the volume to a receiver, only what changed')
    .requiredOption(
      '--volume <path>',
      'directory (Filesystem volume) or block device/image (Block volume)',
    )
    .requiredOption(
      '--to <host:port>',
      "the receiver's address, e.g. 10.0.0.5:2222 or [fd00::5]:2222",
      endpoint,
    )
    .requiredOption('--key <file>', "this replication's private client key")
    .requiredOption('--known-host-key <file>', "the receiver's pinned public host key")
    .option('--json', 'print one JSON summary on stdout')
    .option('--progress', 'print progress as JSON lines on stdout')
    .option('--checksum', 'compare file contents, not just size and modification time')
    .addOption(
      new Option('--compress <when>', 'compression of file data on the wire')
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--sparse <when>',
        'turn runs of zeros into holes (rsync -S); auto: when the volume has files with holes',
      )
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .option(
      '--block-size <bytes>',
      'delta block size (default: 2 KiB for files, 4 KiB with -S; 64 KiB for block volumes)',
      integer(512, 131072),
    )
    .option(
      '--piece-size <bytes>',
      'block volumes: what a differing block is narrowed down to before it is sent (default 4 KiB; the block size sends whole blocks)',
      integer(512, 131072),
    )
    .addOption(
      new Option('--ssh-client <client>', "rsync's transport on this side")
        .choices(['ssh2', 'openssh'])
        .default('ssh2'),
    )
    .option('--retries <n>', 'attempts after the first when the link fails', integer(0, 100), 5)
    .option(
      '--io-timeout <seconds>',
      'abort an attempt whose link stalls this long',
      integer(5, 3600),
      60,
    )
    .action(
      async (
        opts: {
          volume: string;
          to: ReturnType<typeof parseEndpoint>;
          key: string;
          knownHostKey: string;
          json?: boolean;
          progress?: boolean;
          checksum?: boolean;
          compress: 'auto' | 'always' | 'never';
          sparse: 'auto' | 'always' | 'never';
          blockSize?: number;
          pieceSize?: number;
          retries: number;
          ioTimeout: number;
          sshClient: 'ssh2' | 'openssh';
        },
        cmd: Command,
      ) => {
        // Each role loads only its own modules: this CLI also starts once per
        // sync as rsync's remote shell.
        const { send } = await import('./sender.ts');
        const { defaultBlockSize } = await import('./block.ts');
        const blockVolumeBlock = opts.blockSize ?? defaultBlockSize;
        if (opts.pieceSize && blockVolumeBlock % Math.min(opts.pieceSize, blockVolumeBlock) !== 0) {
          cmd.error(
            `error: --piece-size ${opts.pieceSize} does not divide the block size ${blockVolumeBlock}: ` +
              'choose a piece size that does (e.g. 4096)',
          );
        }
        const log = createLogger('sender');
        let last = 0;
        // A pod being stopped (SIGTERM) or Ctrl-C (SIGINT) ends the sync cleanly
        // and still gives its summary; a second signal does not wait for that.
        const stopping = new AbortController();
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping.signal.aborted) process.exit(128 + osConstants.signals[signal]);
          log.warn({ signal }, 'stopping the sync');
          stopping.abort(signal);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        const summary = await send({
          signal: stopping.signal,
          volume: opts.volume,
          to: opts.to,
          keyPath: opts.key,
          knownHostKeyPath: opts.knownHostKey,
          checksum: Boolean(opts.checksum),
          compression: opts.compress,
          sparse: opts.sparse,
          blockSize: opts.blockSize,
          pieceSize: opts.pieceSize,
          retries: opts.retries,
          backoffBaseMs: Number(process.env.SCRIBE_BACKOFF_BASE_MS ?? 1000),
          backoffCapMs: 30_000,
          ioTimeoutSeconds: opts.ioTimeout,
          sshClient: opts.sshClient,
          log,
          keepaliveMs: Number(process.env.SCRIBE_KEEPALIVE_MS ?? 5000),
          onProgress: opts.progress
            ? (p) => {
                const now = Date.now();
                if (now - last < 250 && p.percent < 100) return;
                last = now;
                process.stdout.write(`${JSON.stringify({ type: 'progress', ...p })}\n`);
              }
            : undefined,
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else if (summary.result === 'failed') process.stderr.write(`error: ${summary.error}\n`);
        else
          process.stdout.write(
            `synced ${opts.volume} to ${opts.to.host}: ${summary.files} files, ${summary.dataBytes} data bytes, ` +
              `${summary.wireBytes} bytes on the wire in ${summary.durationSeconds.toFixed(1)}s\n`,
          );
        const stoppedBy = stopping.signal.reason as NodeJS.Signals | undefined;
        process.exitCode =
          summary.result === 'succeeded' ? 0 : stoppedBy ? 128 + osConstants.signals[stoppedBy] : 1;
      },
    );

  program
    .command('crypto-info')
    .description('which SSH crypto path this Node.js uses, and the flags it runs with')
    .action(() => {
      const info = {
        node: process.version,
        nodeFlags: process.execArgv,
        ...cryptoPath(),
        ciphers: cipherPreference,
      };
      process.stdout.write(`${JSON.stringify(info)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
