import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { backoffDelayMs } from './backoff.ts';
import { sendBlocks } from './block.ts';
import { formatEndpoint, type Endpoint } from './endpoint.ts';
import { loadKey, loadKeyFile } from './keys.ts';
import type { Logger } from './log.ts';
import { refusedPrefix, senderArgs, type Compression, type WireCompression } from './rsync-args.ts';
import { compressionPays, estimatedSaving, sampleCompressibility } from './compressibility.ts';
import {
  blockProgress,
  describeExit,
  destinationFull,
  isRetryableExit,
  parseProgress,
  parseStats,
  type Progress,
} from './rsync-output.ts';
import { isHandoffMessage, type HandoffMessage } from './rsh-handoff.ts';
import { connect, cryptoPath, exec, execCollect, type Connection } from './ssh-transport.ts';
import { surveyVolume, wantSparse, type Sparse, type VolumeSurvey } from './survey.ts';
import { blockVolumeSize, volumeKind, type VolumeKind } from './volume.ts';

export interface SendOptions {
  volume: string;
  to: Endpoint;
  keyPath: string;
  knownHostKeyPath: string;
  checksum: boolean;
  compression: Compression;
  /** rsync -S: `auto` where the volume has holes (survey.ts). */
  sparse: Sparse;
  blockSize?: number;
  /** Block volumes: what a differing block is narrowed down to (block.ts). */
  pieceSize?: number;
  retries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  ioTimeoutSeconds: number;
  keepaliveMs: number;
  /** ssh2 (default) or OpenSSH's client as rsync's remote shell. */
  sshClient?: 'ssh2' | 'openssh';
  onProgress?: (p: Progress) => void;
  log: Logger;
  /**
   * Stops the sync (a SIGTERM or SIGINT): rsync is told to stop, so the
   * receiver keeps what arrived for the next run, nothing is committed, and
   * the summary says the sync was interrupted. Its reason names the signal.
   */
  signal?: AbortSignal;
}

/** The summary's error for a sync stopped from outside. */
export function interruptedMessage(reason: unknown): string {
  return (
    `interrupted by ${typeof reason === 'string' ? reason : 'a stop request'}: this sync is not recorded as complete; ` +
    'the last complete sync stands, and the next run resumes where this one stopped'
  );
}

export interface SendSummary {
  result: 'succeeded' | 'failed';
  mode: VolumeKind;
  syncId: string;
  files: number;
  dataBytes: number;
  wireBytes: number;
  durationSeconds: number;
  attempts: number;
  crypto: { nativeBinding: boolean };
  compression?: WireCompression;
  /** Whether rsync turned runs of zeros into holes (-S). */
  sparse?: boolean;
  /** Whether rsync sent its file list as it walked (false: in one piece, a resync of a big tree). */
  incrementalRecursion?: boolean;
  warnings: string[];
  error?: string;
}

/** A failure that another attempt cannot cure (wrong key, refused option, full disk). */
class PermanentError extends Error {}

interface AttemptResult {
  files: number;
  dataBytes: number;
  wireBytes: number;
  warnings: string[];
  /**
   * What the attempt compressed with, when it asked the receiver first
   * (isResync), or a block transfer's frames did (frame-compression.ts).
   */
  compression?: WireCompression;
  incrementalRecursion?: boolean;
}

const binPath = fileURLToPath(new URL('../bin/scribe-mover.js', import.meta.url));

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

export async function send(o: SendOptions): Promise<SendSummary> {
  const started = process.hrtime.bigint();
  const syncId = randomUUID();
  const mode = await volumeKind(o.volume);
  const { key: clientKey, text: clientKeyText } = await loadKeyFile(
    o.keyPath,
    'the client key',
    'private',
  );
  const pinnedHostKey = await loadKey(o.knownHostKeyPath, 'known host key');
  const summary: SendSummary = {
    result: 'failed',
    mode,
    syncId,
    files: 0,
    dataBytes: 0,
    wireBytes: 0,
    durationSeconds: 0,
    attempts: 0,
    crypto: cryptoPath(),
    warnings: [],
  };
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  // One bounded walk serves both decisions that `auto` leaves to the volume.
  const survey =
    mode === 'filesystem' && (o.compression === 'auto' || o.sparse === 'auto')
      ? surveyVolume(o.volume)
      : undefined;
  const wire = mode === 'filesystem' ? wireCompression(o, survey) : 'none';
  const resyncChoices = {
    compressTokens: wire === 'none' && o.compression === 'auto' && holdsLargeFiles(survey),
    listInOnePiece: survey !== undefined && !survey.complete,
  };
  const sparse = mode === 'filesystem' && wantSparse(o.sparse, survey);
  summary.compression = wire;
  if (mode === 'filesystem') summary.sparse = sparse;
  o.log.info(
    { syncId, mode, to: formatEndpoint(o.to), crypto: summary.crypto, compression: wire, sparse },
    'sync started',
  );

  for (let attempt = 1; ; attempt++) {
    summary.attempts = attempt;
    let conn: Connection | undefined;
    try {
      if (o.signal?.aborted) throw new PermanentError(interruptedMessage(o.signal.reason));
      // The control connection (for the commit) opens while rsync starts.
      const connecting = connect({
        to: o.to,
        clientKey,
        clientKeyText,
        pinnedHostKey,
        keepaliveMs: o.keepaliveMs,
      });
      const [control, transfer] = await Promise.allSettled([
        connecting,
        mode === 'block'
          ? connecting.then((c) => attemptBlocks(c, o, syncId))
          : attemptRsync(o, syncId, { compression: wire, sparse, ...resyncChoices }, connecting),
      ]);
      if (control.status === 'rejected') throw control.reason;
      conn = control.value;
      if (transfer.status === 'rejected') throw transfer.reason;
      const r = transfer.value;
      // Told to stop: a transfer that got to its end is still not committed.
      if (o.signal?.aborted) throw new PermanentError(interruptedMessage(o.signal.reason));
      const commit = await execCollect(conn.client, `scribe-commit ${syncId}`);
      if (commit.code !== 0)
        throw new Error(`the receiver did not record the sync: ${commit.stderr.trim()}`);
      summary.wireBytes += conn.socket.bytesRead + conn.socket.bytesWritten + r.wireBytes;
      summary.files = r.files;
      summary.dataBytes = r.dataBytes;
      if (r.compression) summary.compression = r.compression;
      if (mode === 'filesystem') summary.incrementalRecursion = r.incrementalRecursion;
      summary.warnings.push(...r.warnings);
      summary.result = 'succeeded';
      summary.durationSeconds = elapsed();
      o.log.info({ syncId, attempt, files: r.files, dataBytes: r.dataBytes }, 'sync succeeded');
      return summary;
    } catch (err) {
      const e = err as Error & { retryable?: boolean };
      if (conn) summary.wireBytes += conn.socket.bytesRead + conn.socket.bytesWritten;
      const stopped = o.signal?.aborted === true;
      const permanent = stopped || e instanceof PermanentError || e.retryable === false;
      if (permanent || attempt > o.retries) {
        summary.error = stopped
          ? interruptedMessage(o.signal?.reason)
          : permanent || o.retries === 0
            ? e.message
            : `${e.message} (gave up after ${attempt} attempts)`;
        summary.durationSeconds = elapsed();
        o.log.error({ syncId, attempt, err: e.message }, 'sync failed');
        return summary;
      }
      const delay = backoffDelayMs(attempt, o.backoffBaseMs, o.backoffCapMs);
      o.log.warn({ syncId, attempt, err: e.message, retryInMs: delay }, 'attempt failed, retrying');
      // A stop during the wait ends the wait, and the sync with it.
      await sleep(delay, undefined, { signal: o.signal }).catch(() => undefined);
      if (o.signal?.aborted) {
        summary.error = interruptedMessage(o.signal.reason);
        summary.durationSeconds = elapsed();
        o.log.error({ syncId, attempt, err: summary.error }, 'sync failed');
        return summary;
      }
    } finally {
      conn?.client.end();
    }
  }
}

async function attemptBlocks(
  conn: Connection,
  o: SendOptions,
  syncId: string,
): Promise<AttemptResult> {
  const channel = await exec(conn.client, 'scribe-block-receive', { SCRIBE_SYNC_ID: syncId });
  const stop = () => channel.destroy();
  o.signal?.addEventListener('abort', stop, { once: true });
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Why the connection went, if it did (a stalled link: "Keepalive timeout").
  let lost: Error | undefined;
  const onLost = (err: Error) => (lost ??= err);
  conn.client.on('error', onLost);
  try {
    const started = performance.now();
    const size = o.onProgress ? await blockVolumeSize(o.volume) : 0;
    const r = await sendBlocks(channel, o.volume, {
      blockSize: o.blockSize,
      pieceSize: o.pieceSize,
      compression: o.compression,
      signal: o.signal,
      onProgress: o.onProgress
        ? (compared, sent) =>
            o.onProgress?.(
              blockProgress(compared, size, sent, (performance.now() - started) / 1000),
            )
        : undefined,
    });
    channel.end();
    return {
      files: 1,
      dataBytes: r.bytesSent,
      wireBytes: 0,
      warnings: [],
      compression: r.compressedBytes ? 'zstd' : 'none',
    };
  } catch (err) {
    const message =
      stderr.trim() ||
      (lost
        ? `lost the connection to ${formatEndpoint(o.to)} in the middle of the transfer: ${lost.message}`
        : (err as Error).message);
    // The receiver's own refusals (too small, mismatch) will not change on retry.
    if (/smaller than the source|unsupported block protocol/.test(message)) {
      throw new PermanentError(message, { cause: err });
    }
    throw new Error(message, { cause: err });
  } finally {
    o.signal?.removeEventListener('abort', stop);
    conn.client.off('error', onLost);
  }
}

/**
 * OpenSSH's client as rsync's remote shell, for comparison with the ssh2
 * bridge: C crypto and no Node.js start per sync. The receiver stays ssh2; the
 * pinned host key goes into a known_hosts file of this sync's own, and no
 * user or system ssh configuration is read.
 */
async function opensshRsh(o: SendOptions, syncId: string, work: string): Promise<string> {
  const knownHosts = join(work, 'known_hosts');
  const pub = (await readFile(o.knownHostKeyPath, 'utf8'))
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  await writeFile(knownHosts, `scribe ${pub}\n`, { mode: 0o600 });
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-p',
    String(o.to.port),
    '-i',
    o.keyPath,
    '-l',
    'scribe',
    '-o',
    `HostName=${o.to.host}`,
    '-o',
    'HostKeyAlias=scribe',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'Ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com',
    '-o',
    `ServerAliveInterval=${Math.max(1, Math.round(o.keepaliveMs / 1000))}`,
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    `SetEnv=SCRIBE_SYNC_ID=${syncId}`,
    '-o',
    'LogLevel=ERROR',
  ]
    .map(shellQuote)
    .join(' ');
}

function wireCompression(o: SendOptions, survey: VolumeSurvey | undefined): WireCompression {
  if (o.compression === 'always') return 'zstd';
  if (o.compression === 'never' || !survey) return 'none';
  const saving = estimatedSaving(sampleCompressibility(survey.files));
  o.log.debug({ saving }, 'sampled compressibility');
  return compressionPays(saving) ? 'zstd' : 'none';
}

/** Files from this size on make a resync mostly rsync's block-match tokens. */
const largeFileSize = 64 * 1024 * 1024;

function holdsLargeFiles(survey: VolumeSurvey | undefined): boolean {
  return survey?.files.some((f) => f.size >= largeFileSize) ?? false;
}

/**
 * Whether the receiver holds a complete sync, so that this one is a resync.
 * Two choices are better made knowing it, at the cost of starting rsync only
 * once the connection is up (they overlap otherwise):
 *
 * - Data that does not compress still leaves one thing that does: a resync
 *   of large files is mostly rsync's tokens for the blocks the destination
 *   already has, four bytes a block uncompressed, which zstd's token mode
 *   run-length encodes. Measured on a 512 MiB file with 1% scattered 4 KiB
 *   writes: 12.3 MB on rsync's streams uncompressed, 11.8 MB with zstd, at
 *   4 KiB blocks, and 11.2 against 10.2 MB at 2 KiB (the baseline's `-z`:
 *   35.5 MB). A first sync is all literal data, where zstd only costs CPU.
 * - On a tree too big for the survey to walk whole, a resync is faster with
 *   rsync's file list sent in one piece (--no-inc-recursive): 50,000 small
 *   files over loopback, no change 0.71-0.75 s against 0.79-0.89 s, a 1%
 *   change 0.87-0.88 s against 1.00-1.03 s. A first sync is not: with the
 *   page cache cold, incremental recursion starts sending while the walk
 *   goes on (5.68 s twice, against 5.75 and 6.34 s).
 *
 * Any doubt (an older receiver, an error) counts as a first sync.
 */
async function isResync(connecting: Promise<Connection>): Promise<boolean> {
  try {
    const conn = await connecting;
    const state = await execCollect(conn.client, 'scribe-state');
    if (state.code !== 0) return false;
    const { complete } = JSON.parse(state.stdout) as { complete?: unknown };
    return Boolean(complete);
  } catch {
    return false;
  }
}

/**
 * Carries rsync's remote-shell streams over an exec channel of the sender's
 * own SSH connection. rsync's remote shell (rsh-handoff.ts) passes its two
 * sockets here over the IPC channel rsync inherited, and exits with the code
 * it is sent: rsync's protocol bytes go from rsync's socket straight into
 * ssh2, with no relay process, and one key exchange per sync, not two.
 */
function bridgeRsh(
  child: ChildProcess,
  connecting: Promise<Connection>,
  syncId: string,
  onStderr: (text: string) => void,
): void {
  let fromRsync: net.Socket | undefined;
  let toRsync: net.Socket | undefined;
  let command: string[] | undefined;
  let finished = false;
  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    toRsync?.end();
    fromRsync?.destroy();
    if (child.connected) child.send({ type: 'rsh-exit', code } satisfies HandoffMessage);
  };
  child.on('message', (m: unknown, handle: unknown) => {
    if (!isHandoffMessage(m)) return;
    if (m.type === 'rsh-stdin') {
      fromRsync = handle as net.Socket;
      command = m.command;
    } else if (m.type === 'rsh-stdout') toRsync = handle as net.Socket;
    if (fromRsync && toRsync && command) void start(fromRsync, toRsync, command);
  });
  child.on('disconnect', () => finish(255));
  async function start(input: net.Socket, output: net.Socket, words: string[]) {
    input.on('error', () => finish(255));
    output.on('error', () => finish(255));
    let conn: Connection;
    try {
      conn = await connecting;
    } catch {
      // The connection's own error is the attempt's error; rsync just stops.
      return finish(255);
    }
    let channel;
    try {
      channel = await exec(conn.client, words.join(' '), { SCRIBE_SYNC_ID: syncId });
    } catch (err) {
      onStderr(`scribe-mover: ${(err as Error).message}\n`);
      return finish(255);
    }
    input.pipe(channel);
    channel.pipe(output);
    channel.stderr.on('data', (d: Buffer) => onStderr(d.toString()));
    // The exit code comes with 'close' (see exec).
    channel.on('close', (code?: number | null) => finish(code ?? 255));
    conn.client.on('close', () => {
      onStderr('scribe-mover: connection lost\n');
      finish(255);
    });
  }
}

async function attemptRsync(
  o: SendOptions,
  syncId: string,
  chosen: {
    compression: WireCompression;
    sparse: boolean;
    compressTokens: boolean;
    listInOnePiece: boolean;
  },
  connecting: Promise<Connection>,
): Promise<AttemptResult> {
  const asks = chosen.compressTokens || chosen.listInOnePiece;
  const resync = asks && (await isResync(connecting));
  const compression = chosen.compressTokens && resync ? 'zstd' : chosen.compression;
  const incrementalRecursion = !(chosen.listInOnePiece && resync);
  const handoff = o.sshClient !== 'openssh';
  // Only OpenSSH needs a file (its known_hosts): with the handoff nothing is
  // written, so a sender killed outright leaves nothing behind in /tmp.
  const work = handoff ? undefined : await mkdtemp(join(tmpdir(), 'scribe-send-'));
  try {
    const rsh = work
      ? await opensshRsh(o, syncId, work)
      : [process.execPath, binPath, 'rsh-handoff'].map(shellQuote).join(' ');
    const args = senderArgs({
      source: o.volume,
      rsh,
      checksum: o.checksum,
      compression,
      sparse: chosen.sparse,
      incrementalRecursion,
      blockSize: o.blockSize,
      ioTimeoutSeconds: o.ioTimeoutSeconds,
      progress: Boolean(o.onProgress),
    });
    // 'ipc' is the channel rsync's remote shell inherits for the handoff.
    const child = spawn('rsync', args, {
      stdio: ['ignore', 'pipe', 'pipe', handoff ? 'ipc' : 'ignore'],
    }) as ChildProcessByStdio<null, Readable, Readable>;
    let stdout = '';
    let stderr = '';
    if (handoff) bridgeRsh(child, connecting, syncId, (text) => (stderr += text));
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout += text;
      if (!o.onProgress) return;
      const parts = (pending + text).split(/[\r\n]/);
      pending = parts.pop() ?? '';
      for (const line of parts) {
        const p = parseProgress(line);
        if (p) o.onProgress(p);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // rsync stops on SIGTERM as on a broken link: the receiver keeps the partial file.
    const stop = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', stop, { once: true });
    if (o.signal?.aborted) stop();
    const [code] = (await once(child, 'exit').finally(() =>
      o.signal?.removeEventListener('abort', stop),
    )) as [number | null];
    const stats = parseStats(stdout);
    // The handoff's bytes are on the sender's own connection, counted there;
    // OpenSSH reports no socket counts: rsync's stream bytes stand in.
    const wireBytes = handoff || !stats ? 0 : stats.sentBytes + stats.receivedBytes;
    const warnings: string[] = [];
    const detail = stderr.trim().split('\n').slice(-3).join('; ');
    if (code === 24) {
      warnings.push('some source files vanished during the transfer (the volume was changing)');
    } else if (code !== 0 && destinationFull(stderr)) {
      throw new PermanentError(
        `the destination volume is full (${detail}): give it more room or make the source smaller, then sync again; ` +
          'this sync is not recorded as complete, and the last complete one stands',
      );
    } else if (code !== 0) {
      const message = `rsync failed: ${describeExit(code)}${detail ? `: ${detail}` : ''}`;
      const refused = stderr.includes(`scribe-mover: ${refusedPrefix}`);
      throw isRetryableExit(code) && !refused ? new Error(message) : new PermanentError(message);
    }
    if (!stats)
      throw new PermanentError(
        'rsync finished without its statistics; cannot confirm the transfer',
      );
    return {
      files: stats.filesTransferred,
      dataBytes: stats.literalBytes,
      wireBytes,
      warnings,
      ...(chosen.compressTokens ? { compression } : {}),
      incrementalRecursion,
    };
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}
