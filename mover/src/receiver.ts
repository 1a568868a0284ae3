import { spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2, { type Connection, type ParsedKey, type ServerChannel } from 'ssh2';
import { confirmBlocks, receiveBlocks } from './block.ts';
import { flushFilesystem, readMarker, writeMarker } from './completion.ts';
import type { Endpoint } from './endpoint.ts';
import { fingerprint } from './keys.ts';
import type { Logger } from './log.ts';
import { partialDir, receiverCommand, refusedPrefix, stateDirName } from './rsync-args.ts';
import { destinationFull } from './rsync-output.ts';
import { cipherPreference } from './ssh-transport.ts';
import type { VolumeKind } from './volume.ts';

export interface ReceiverOptions {
  volume: string;
  kind: VolumeKind;
  listen: Endpoint;
  hostKey: Buffer;
  authorizedKey: ParsedKey;
  once: boolean;
  stateDir?: string;
  ioTimeoutSeconds: number;
  log: Logger;
}

export interface RunningReceiver {
  port: number;
  /** Resolves with the process exit code: 0 after a complete sync in --once mode. */
  done: Promise<number>;
  close(code: number): void;
}

type TransferState = 'running' | 'succeeded' | 'failed';

/** The sender's control commands besides rsync itself; a fixed set, no shell. */
const commands = {
  commit: 'scribe-commit',
  block: 'scribe-block-receive',
  state: 'scribe-state',
} as const;

/** Resolves with the error instead of rejecting, so an unawaited flush never goes unhandled. */
function settled(p: Promise<unknown>): Promise<Error | undefined> {
  return p.then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
}

export async function startReceiver(o: ReceiverOptions): Promise<RunningReceiver> {
  const log = o.log;
  const allowed = o.authorizedKey.getPublicSSH();
  const stateDir =
    o.stateDir ?? (o.kind === 'filesystem' ? join(o.volume, stateDirName) : undefined);
  const transfers = new Map<string, TransferState>();
  const flushes = new Map<string, Promise<Error | undefined>>();
  let clearingPartials: Promise<void> | undefined;
  let active: { syncId: string; child?: ChildProcess; abort(): Promise<void> } | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const ssh = new ssh2.Server(
    {
      hostKeys: [o.hostKey],
      ident: 'scribe-mover',
      algorithms: { cipher: [...cipherPreference], compress: ['none'] },
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
    },
    (conn: Connection, info) => {
      const peer = `${info.ip}:${info.port}`;
      conn.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') {
          log.warn({ peer, method: ctx.method }, 'refused authentication method');
          return ctx.reject(['publickey']);
        }
        const offered = ctx.key.data;
        const match = offered.length === allowed.length && timingSafeEqual(offered, allowed);
        if (!match) {
          log.warn({ peer }, 'refused a key that is not the authorized key');
          return ctx.reject(['publickey']);
        }
        if (ctx.signature && ctx.blob) {
          if (o.authorizedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
            log.warn({ peer }, 'refused a bad signature');
            return ctx.reject(['publickey']);
          }
          log.info({ peer, client: fingerprint(o.authorizedKey) }, 'authenticated');
        }
        ctx.accept();
      });
      conn.on('ready', () => {
        conn.on('session', (accept) => {
          const session = accept();
          const env: Record<string, string> = {};
          for (const req of ['pty', 'shell', 'subsystem', 'x11', 'auth-agent', 'signal'] as const) {
            session.on(req, (_accept: unknown, reject?: () => void) => {
              log.warn({ peer, request: req }, 'refused session request');
              reject?.();
            });
          }
          session.on('env', (acceptEnv, rejectEnv, e) => {
            if (e.key === 'SCRIBE_SYNC_ID' && /^[A-Za-z0-9-]{1,64}$/.test(e.val)) {
              env[e.key] = e.val;
              acceptEnv?.();
            } else rejectEnv?.();
          });
          session.on('exec', (acceptExec, _reject, req) => {
            const channel = acceptExec();
            // ssh2 may never close a channel whose connection died mid-write.
            conn.once('close', () => channelGone.get(channel)?.());
            void handleExec(channel, req.command, env.SCRIBE_SYNC_ID ?? 'unnamed', peer).catch(
              (err: Error) => {
                log.error({ peer, err: err.message }, 'exec failed');
                endChannel(channel, 1, `scribe-mover: ${err.message}\n`);
              },
            );
          });
        });
        conn.on('tcpip', (_a, reject) => {
          log.warn({ peer }, 'refused port forwarding');
          reject();
        });
        conn.on('openssh.streamlocal', (_a, reject) => reject());
        conn.on('request', (_a, reject, name) => {
          log.warn({ peer, request: name }, 'refused global request');
          reject?.();
        });
      });
      conn.on('error', (err) => log.info({ peer, err: err.message }, 'connection error'));
    },
  );

  /** What to do for a channel when its connection goes (block transfers stop). */
  const channelGone = new WeakMap<ServerChannel, () => void>();

  function endChannel(channel: ServerChannel, code: number, message?: string) {
    if (message) channel.stderr.write(message);
    channel.exit(code);
    channel.end();
  }

  async function takeOver(syncId: string) {
    // A new attempt means the previous one's sender is gone (a cut link leaves
    // the old server waiting for its I/O timeout): stop it first.
    if (active) {
      log.warn(
        { previous: active.syncId, syncId },
        'stopping an earlier transfer for a new attempt',
      );
      await active.abort();
    }
  }

  async function handleExec(channel: ServerChannel, command: string, syncId: string, peer: string) {
    const word = command.trim().split(/\s+/, 1)[0];
    if (word === 'rsync') {
      if (o.kind !== 'filesystem')
        throw new Error('this receiver holds a block volume; use block mode');
      let argv: string[];
      try {
        ({ argv } = receiverCommand(command, {
          volume: o.volume,
          fakeSuper: process.getuid?.() !== 0,
          ioTimeoutSeconds: o.ioTimeoutSeconds,
        }));
      } catch (err) {
        log.warn({ peer, err: (err as Error).message }, 'refused rsync command');
        throw new Error(`${refusedPrefix} ${(err as Error).message}`, { cause: err });
      }
      await takeOver(syncId);
      await clearingPartials;
      // Made before rsync runs, so rsync's final touch of the root's mtime stays last.
      if (stateDir) await mkdir(stateDir, { recursive: true, mode: 0o700 });
      log.info({ peer, syncId }, 'transfer started');
      transfers.set(syncId, 'running');
      const child = spawn('rsync', argv, { cwd: o.volume, stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      active = {
        syncId,
        child,
        abort: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
      channel.pipe(child.stdin);
      child.stdout.pipe(channel, { end: false });
      child.stderr.pipe(channel.stderr, { end: false });
      // Its last words, to tell a full volume from other failures.
      let said = '';
      child.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-4096)));
      child.stdin.on('error', () => undefined);
      // A vanished sender looks to rsync like a dropped SSH link: end of input,
      // on which it saves the partial file. A signal at once races that.
      channel.on('close', () => {
        child.stdin.end();
        const stop = setTimeout(() => child.exitCode === null && child.kill('SIGTERM'), 10_000);
        child.once('exit', () => clearTimeout(stop));
      });
      const [code, signal] = await exited;
      if (active?.child === child) active = undefined;
      const ok = code === 0;
      transfers.set(syncId, ok ? 'succeeded' : 'failed');
      // Partial files are kept for the next run to resume from, except where
      // they can only do harm: after a complete transfer none is needed (one
      // left by a file the source has since deleted would stay forever), and
      // on a full volume they hold the room a smaller sync would need.
      const full = !ok && destinationFull(said);
      if (o.kind === 'filesystem' && (ok || full)) {
        // The sender may hear of rsync's error before this is done: the next
        // transfer waits for it.
        clearingPartials = rm(partialDir(o.volume), { recursive: true, force: true }).catch(
          (err: unknown) =>
            log.warn({ syncId, err: (err as Error).message }, 'could not remove partial files'),
        );
        await clearingPartials;
      }
      if (full) log.warn({ peer, syncId }, 'volume full: partial files removed');
      // Flush now, while the sender's rsync winds down and asks to commit.
      if (ok) flushes.set(syncId, settled(flushFilesystem(o.volume)));
      log.info({ peer, syncId, code, signal }, ok ? 'transfer finished' : 'transfer failed');
      endChannel(channel, code ?? 1);
      return;
    }
    if (word === commands.block) {
      if (o.kind !== 'block') throw new Error('this receiver holds a filesystem volume');
      await takeOver(syncId);
      transfers.set(syncId, 'running');
      const controller = new AbortController();
      channelGone.set(channel, () => controller.abort());
      const running = receiveBlocks(channel, o.volume, controller.signal, log);
      active = {
        syncId,
        abort: async () => {
          // Its link may have gone silent: aborting ends its waits now, not
          // when SSH's keepalives give up (30 s).
          controller.abort();
          await running.catch(() => undefined);
        },
      };
      try {
        const result = await running;
        transfers.set(syncId, 'succeeded');
        if (active?.syncId === syncId) active = undefined;
        log.info({ peer, syncId, ...result }, 'block transfer finished');
        await confirmBlocks(channel, result);
        endChannel(channel, 0);
      } catch (err) {
        transfers.set(syncId, 'failed');
        log.warn({ peer, syncId, err: (err as Error).message }, 'block transfer failed');
        endChannel(channel, 1, `scribe-mover: ${(err as Error).message}\n`);
      } finally {
        if (active?.syncId === syncId) active = undefined;
      }
      return;
    }
    if (word === commands.state) {
      // Whether the volume holds a complete sync: the next one is then a resync.
      const complete = stateDir ? ((await readMarker(stateDir)) ?? null) : null;
      channel.write(`${JSON.stringify({ complete })}\n`);
      endChannel(channel, 0);
      return;
    }
    if (word === commands.commit) {
      const id = command.trim().split(/\s+/)[1] ?? '';
      if (transfers.get(id) !== 'succeeded' || active) {
        throw new Error(`sync ${id} has no complete transfer to commit`);
      }
      const early = flushes.get(id);
      flushes.delete(id);
      // rsync wrote nothing after it exited: the flush started then covers it.
      const flushError = early ? await early : await settled(flushFilesystem(o.volume));
      if (flushError) throw flushError;
      const record = { syncId: id, completedAt: new Date().toISOString(), mode: o.kind };
      let marker: string | undefined;
      if (stateDir) marker = await writeMarker(stateDir, record);
      transfers.delete(id);
      log.info({ peer, syncId: id, marker }, 'sync complete');
      channel.write(`${JSON.stringify({ ...record, marker })}\n`);
      endChannel(channel, 0);
      if (o.once) setImmediate(() => close(0));
      return;
    }
    log.warn({ peer, command: word }, 'refused command');
    endChannel(
      channel,
      126,
      `scribe-mover: ${refusedPrefix} this endpoint only accepts Scribe transfers\n`,
    );
  }

  const tcp = net.createServer({ noDelay: true, keepAlive: true }, (socket) =>
    ssh.injectSocket(socket),
  );
  tcp.listen(o.listen.port, o.listen.host);
  await Promise.race([
    once(tcp, 'listening'),
    once(tcp, 'error').then(([err]) => {
      throw new Error(
        `cannot listen on ${o.listen.host}:${o.listen.port}: ${(err as Error).message}`,
      );
    }),
  ]);
  const address = tcp.address() as net.AddressInfo;

  let closed = false;
  function close(code: number) {
    if (closed) return;
    closed = true;
    tcp.close();
    const stop = active ? active.abort() : Promise.resolve();
    void stop.finally(() => finish(code));
  }

  return { port: address.port, done, close };
}
