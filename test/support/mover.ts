// Spawning the mover CLI from tests: keygen, a receiver that runs until
// stopped, and one-shot senders. Every process is started in its own process
// group and stopped by its id (the group takes any rsync/ssh children with it).

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The mover's executable script, resolved from this file so any checkout works. */
export const moverBin = fileURLToPath(new URL('../../mover/bin/scribe-mover.js', import.meta.url));

export interface MoverKeys {
  dir: string;
  client: string;
  clientPub: string;
  host: string;
  hostPub: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the run was killed for exceeding timeoutMs. */
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Added to the inherited environment. */
  env?: NodeJS.ProcessEnv;
  /** Command that runs the mover, e.g. ['ip', 'netns', 'exec', 'ns1']; it must exec, not fork. */
  argvPrefix?: string[];
}

function spawnMover(
  args: string[],
  env?: NodeJS.ProcessEnv,
  argvPrefix: string[] = [],
): ChildProcess {
  const argv = [...argvPrefix, process.execPath, moverBin, ...args];
  return spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stopping it stops its children too
    env: { ...process.env, ...env },
  });
}

/** Signals a child's process group (falling back to the child alone). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs `scribe-mover ARGS...` to completion, capturing output. Never rejects on a non-zero exit. */
export function runMover(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawnMover(args, opts.env, opts.argvPrefix);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, 'SIGTERM');
      setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Make sure nothing of the group outlives the run.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already empty
        }
      }
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Describes a finished run for assertion messages. */
export function describeRun(what: string, r: RunResult): string {
  return (
    `${what}: exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\n` +
    `--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-8000)}`
  );
}

/** `scribe-mover keygen --out DIR`; throws unless it exits 0. */
export async function keygen(dir: string, opts: RunOptions = {}): Promise<MoverKeys> {
  const r = await runMover(['keygen', '--out', dir], opts);
  if (r.code !== 0) throw new Error(describeRun('keygen', r));
  return {
    dir,
    client: join(dir, 'client_ed25519'),
    clientPub: join(dir, 'client_ed25519.pub'),
    host: join(dir, 'host_ed25519'),
    hostPub: join(dir, 'host_ed25519.pub'),
  };
}

export interface ReceiverOptions {
  volume: string;
  keys: MoverKeys;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: the receiver picks a free port and logs it. */
  port?: number;
  once?: boolean;
  stateDir?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Command that runs the mover, e.g. ['ip', 'netns', 'exec', 'ns1']; it must exec, not fork. */
  argvPrefix?: string[];
  /** How long to wait for the "listening" log line. Default 30 s. */
  startTimeoutMs?: number;
}

export interface Receiver {
  pid: number;
  host: string;
  port: number;
  /** "HOST:PORT" for send --to. */
  address: string;
  /** Everything logged on stderr so far, raw. */
  stderr(): string;
  /** Parsed JSON log lines so far (non-JSON lines are skipped). */
  logs(): Array<Record<string, unknown>>;
  /** Settles when the process exits by itself or is stopped. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs (default 10 s). Idempotent. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `scribe-mover receive` and resolves once it has logged
 * {"msg":"listening","port":N}. Rejects (after stopping the process) if it
 * exits or stays silent past startTimeoutMs.
 */
export function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const host = opts.host ?? '127.0.0.1';
  const listenHost = host.includes(':') ? `[${host}]` : host;
  const args = [
    'receive',
    '--volume',
    opts.volume,
    '--listen',
    `${listenHost}:${opts.port ?? 0}`,
    '--host-key',
    opts.keys.host,
    '--authorized-key',
    opts.keys.clientPub,
  ];
  if (opts.once) args.push('--once');
  if (opts.stateDir !== undefined) args.push('--state-dir', opts.stateDir);
  args.push(...(opts.extraArgs ?? []));

  const child = spawnMover(args, opts.env, opts.argvPrefix);
  let stderr = '';
  let stdoutText = '';
  const parsed: Array<Record<string, unknown>> = [];
  let partial = '';

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // group already empty
        }
      }
      resolve({ code, signal });
    });
  });

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const stop = (
    graceMs = 10_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    stopping ??= (async () => {
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return stopping;
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop(2_000).then(() =>
        reject(
          new Error(
            `receiver ${why}\n--- stdout ---\n${stdoutText.slice(-4000)}\n--- stderr ---\n${stderr.slice(-8000)}`,
          ),
        ),
      );
    };
    const timer = setTimeout(
      () => fail(`did not log "listening" within ${opts.startTimeoutMs ?? 30_000} ms`),
      opts.startTimeoutMs ?? 30_000,
    );
    child.on('error', (err) => fail(`could not start: ${err.message}`));
    void exited.then(({ code, signal }) => fail(`exited before listening (${code ?? signal})`));
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdoutText += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof obj !== 'object' || obj === null) continue;
        const rec = obj as Record<string, unknown>;
        parsed.push(rec);
        if (!settled && rec.msg === 'listening' && typeof rec.port === 'number') {
          settled = true;
          clearTimeout(timer);
          resolve({
            pid: child.pid as number,
            host,
            port: rec.port,
            address: `${listenHost}:${rec.port}`,
            stderr: () => stderr,
            logs: () => [...parsed],
            exited,
            stop,
          });
        }
      }
    });
  });
}

export interface SendSummary {
  result: 'succeeded' | 'failed';
  syncId?: string;
  files: number;
  dataBytes: number;
  wireBytes: number;
  durationSeconds: number;
  attempts: number;
  compression?: 'zstd' | 'none';
  /** Whether rsync ran with -S (filesystem volumes). */
  sparse?: boolean;
  /** Whether rsync sent its file list as it walked (filesystem volumes). */
  incrementalRecursion?: boolean;
  error?: string;
}

export interface SendOptions extends RunOptions {
  volume: string;
  /** "HOST:PORT", e.g. Receiver.address. */
  to: string;
  keys: MoverKeys;
  /** Default true: adds --json and parses the summary. */
  json?: boolean;
  checksum?: boolean;
  progress?: boolean;
  extraArgs?: string[];
}

export interface SendResult extends RunResult {
  /** The --json summary (the last JSON object on stdout with a `result` field), if any. */
  summary: SendSummary | undefined;
}

/** Runs `scribe-mover send` to completion. Never rejects on a non-zero exit. */
export async function runSend(opts: SendOptions): Promise<SendResult> {
  const json = opts.json ?? true;
  const args = ['send', '--volume', opts.volume, '--to', opts.to, '--key', opts.keys.client];
  args.push('--known-host-key', opts.keys.hostPub);
  if (json) args.push('--json');
  if (opts.checksum) args.push('--checksum');
  if (opts.progress) args.push('--progress');
  args.push(...(opts.extraArgs ?? []));
  const r = await runMover(args, opts);
  let summary: SendSummary | undefined;
  for (const line of r.stdout.split('\n').reverse()) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      if (typeof obj.result === 'string') {
        summary = obj as unknown as SendSummary;
        break;
      }
    } catch {
      // not JSON
    }
  }
  return { ...r, summary };
}
