// Two network namespaces joined by a veth pair, standing in for two clusters.
//
// Used by the mover's integration tests and by the mover benchmark
// (bench/mover/run.ts). Everything created here (namespaces, the veth pair,
// processes started through exec/spawnIn) is removed by cleanup(), by
// cleanupAllNetns(), and, as a last resort, synchronously when the Node
// process exits. Requires root and iproute2 (`ip`, `tc`).
//
// Addressing: each pair lives in namespaces of its own, so every pair can use
// the same addresses (10.254.7.1/30 on the source end, 10.254.7.2/30 on the
// destination end) without clashing with each other or with the host.
//
// linkDown() makes established TCP connections stall rather than reset:
//   - default mode 'drop': a `pfifo limit 0` root qdisc is put on BOTH veth
//     ends, so every packet either side sends is dropped silently before it
//     reaches the wire. Links stay up and routes stay in place, so sockets see
//     nothing but silence (no RST, no ICMP, no EHOSTUNREACH); new connect()
//     calls hang in SYN retransmission like across a real partition. netem is
//     not required (it is not available on every kernel, e.g. this one).
//   - fallback mode 'down' (used when tc/pfifo is unavailable, or on request):
//     `ip link set dev <src end> down`. The peer loses carrier and drops what
//     it sends; the source side loses its connected route, so new connect()
//     calls from the source namespace fail fast with ENETUNREACH, while
//     established connections just stall.
// In both modes established connections survive (checked: a TCP stream cut
// for 4 s saw no error on either side and resumed within ~1-3 s of linkUp());
// traffic resumes at the next TCP retransmission, which after a long outage
// can be many seconds later (exponential RTO back-off from 200 ms).
//
// wireBytes() is rx_bytes + tx_bytes of the source end of the veth pair: every
// frame crossing the wire, in either direction, counted once (Ethernet, IP and
// TCP headers included).

import { spawn, execFileSync, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface NetnsEnd {
  /** Network namespace name (usable with `ip netns exec`). */
  ns: string;
  /** IPv4 address of this end, without prefix length. */
  addr: string;
}

export interface NetnsExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process group with SIGKILL after this long. Default 60 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Reject when the exit code is not 0 (or on timeout). Default true. */
  check?: boolean;
  /** A cgroup directory (v1 or v2) whose cgroup.procs the process joins before it enters the namespace. */
  cgroup?: string;
}

export interface NetnsSpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Default ['ignore', 'pipe', 'pipe']. */
  stdio?: StdioOptions;
  /** A cgroup directory (v1 or v2) whose cgroup.procs the process joins before it enters the namespace. */
  cgroup?: string;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type LinkDownMode = 'drop' | 'down';

export interface NetnsPairOptions {
  /** Default 10.254.7.1 */
  srcAddr?: string;
  /** Default 10.254.7.2 */
  dstAddr?: string;
  /** Default 30 */
  prefixLen?: number;
  /** How linkDown() cuts the link; default 'drop' if tc/pfifo works, else 'down'. */
  linkDownMode?: LinkDownMode;
}

export interface NetnsPair {
  name: string;
  src: NetnsEnd;
  dst: NetnsEnd;
  /** veth interface name inside the source namespace. */
  vethSrc: string;
  /** veth interface name inside the destination namespace. */
  vethDst: string;
  /** The mode linkDown() uses. */
  linkDownMode: LinkDownMode;
  /**
   * Run argv inside a namespace and collect its output. `ns` is a namespace
   * name (pair.src.ns / pair.dst.ns) or the shorthand 'src' / 'dst'.
   */
  exec(ns: string, argv: string[], opts?: NetnsExecOptions): Promise<ExecResult>;
  /**
   * Start argv inside a namespace. The returned ChildProcess's pid is the
   * program's own pid (ip netns exec execs it). It is started in a process
   * group of its own and is killed by cleanup() if still running.
   */
  spawnIn(ns: string, argv: string[], opts?: NetnsSpawnOptions): ChildProcess;
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  isLinkDown(): boolean;
  /** rx + tx bytes of the veth pair (source end counters: each frame once). */
  wireBytes(): Promise<number>;
  wireStats(): Promise<{ rxBytes: number; txBytes: number }>;
  /** Idempotent: kills processes, deletes both namespaces (and so the veth pair). */
  cleanup(): Promise<void>;
}

const NS_PREFIX = 'scribe-';
let counter = 0;
const livePairs = new Set<PairImpl>();
let exitHookInstalled = false;

// ---------------------------------------------------------------------------
// small process helpers

/** Runs argv in its own process group, bounded by timeoutMs, collecting its output. */
export function runCommand(
  argv: string[],
  opts: {
    timeoutMs?: number;
    input?: string | Buffer;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    track?: Set<ChildProcess>;
  } = {},
): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    opts.track?.add(child);
    const out: Buffer[] = [];
    const errb: Buffer[] = [];
    let timedOut = false;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => errb.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      opts.track?.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.track?.delete(child);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(errb).toString('utf8'),
        timedOut,
      });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        /* child may exit before reading */
      });
      child.stdin.end(opts.input);
    }
  });
}

async function runChecked(argv: string[], timeoutMs = 30_000): Promise<string> {
  const r = await runCommand(argv, { timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `${argv.join(' ')} failed (code ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sanitize(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (s || 'pair').slice(0, 16);
}

/** Build the argv that joins a cgroup (optional), enters `ns`, then execs argv. */
function nsArgv(ns: string, argv: string[], cgroup?: string): string[] {
  const inner = ['ip', 'netns', 'exec', ns, ...argv];
  if (cgroup === undefined) return inner;
  // The cgroup must be joined before `ip netns exec`, which remounts /sys.
  // `exec` keeps the pid, so the pid the caller sees is the program's.
  return ['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cgroup, ...inner];
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await runCommand(['ip', 'netns', 'pids', ns], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((p) => p !== process.pid);
}

async function listNetns(): Promise<string[]> {
  const r = await runCommand(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((s) => s.length > 0);
}

/** Kill every process inside ns (SIGTERM, then SIGKILL), bounded. */
async function killAllIn(ns: string): Promise<void> {
  let pids = await nsPids(ns);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 20 && pids.length > 0; i++) {
    await sleep(100);
    pids = (await nsPids(ns)).filter(pidAlive);
  }
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 30 && pids.length > 0; i++) {
    await sleep(100);
    pids = (await nsPids(ns)).filter(pidAlive);
  }
}

async function deleteNetns(ns: string): Promise<void> {
  await killAllIn(ns);
  for (let i = 0; i < 10; i++) {
    if (!(await listNetns()).includes(ns)) return;
    const r = await runCommand(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
    if (r.code === 0) return;
    await sleep(200);
  }
  throw new Error(`could not delete network namespace ${ns}`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of livePairs) p.cleanupSync();
  });
}

// ---------------------------------------------------------------------------

class PairImpl implements NetnsPair {
  name: string;
  src: NetnsEnd;
  dst: NetnsEnd;
  vethSrc: string;
  vethDst: string;
  linkDownMode: LinkDownMode;
  prefixLen: number;
  children = new Set<ChildProcess>();
  down = false;
  cleaned = false;

  constructor(
    name: string,
    src: NetnsEnd,
    dst: NetnsEnd,
    vethSrc: string,
    vethDst: string,
    mode: LinkDownMode,
    prefixLen: number,
  ) {
    this.name = name;
    this.src = src;
    this.dst = dst;
    this.vethSrc = vethSrc;
    this.vethDst = vethDst;
    this.linkDownMode = mode;
    this.prefixLen = prefixLen;
  }

  resolveNs(ns: string): string {
    if (ns === 'src') return this.src.ns;
    if (ns === 'dst') return this.dst.ns;
    if (ns !== this.src.ns && ns !== this.dst.ns) {
      throw new Error(`namespace ${ns} is not part of pair ${this.name}`);
    }
    return ns;
  }

  async exec(ns: string, argv: string[], opts: NetnsExecOptions = {}): Promise<ExecResult> {
    if (this.cleaned) throw new Error(`pair ${this.name} already cleaned up`);
    const full = nsArgv(this.resolveNs(ns), argv, opts.cgroup);
    const r = await runCommand(full, {
      timeoutMs: opts.timeoutMs ?? 60_000,
      input: opts.input,
      cwd: opts.cwd,
      env: opts.env,
      track: this.children,
    });
    if ((opts.check ?? true) && (r.code !== 0 || r.timedOut)) {
      const err = new Error(
        `[${ns}] ${argv.join(' ')} failed (code ${r.code}${r.timedOut ? ', timed out' : ''}${
          r.signal ? `, signal ${r.signal}` : ''
        }): ${r.stderr.trim().slice(-2000)}`,
      );
      (err as Error & { result?: ExecResult }).result = r;
      throw err;
    }
    return r;
  }

  spawnIn(ns: string, argv: string[], opts: NetnsSpawnOptions = {}): ChildProcess {
    if (this.cleaned) throw new Error(`pair ${this.name} already cleaned up`);
    const [cmd, ...args] = nsArgv(this.resolveNs(ns), argv, opts.cgroup);
    const child = spawn(cmd as string, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
    return child;
  }

  async linkDown(): Promise<void> {
    if (this.down) return;
    if (this.linkDownMode === 'drop') {
      for (const [ns, dev] of [
        [this.src.ns, this.vethSrc],
        [this.dst.ns, this.vethDst],
      ] as const) {
        await runChecked([
          'tc',
          '-n',
          ns,
          'qdisc',
          'replace',
          'dev',
          dev,
          'root',
          'pfifo',
          'limit',
          '0',
        ]);
      }
    } else {
      await runChecked(['ip', '-n', this.src.ns, 'link', 'set', 'dev', this.vethSrc, 'down']);
    }
    this.down = true;
  }

  async linkUp(): Promise<void> {
    if (this.linkDownMode === 'drop') {
      for (const [ns, dev] of [
        [this.src.ns, this.vethSrc],
        [this.dst.ns, this.vethDst],
      ] as const) {
        // Fails harmlessly when there is no root qdisc to delete.
        await runCommand(['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root'], {
          timeoutMs: 10_000,
        });
      }
    } else {
      await runChecked(['ip', '-n', this.src.ns, 'link', 'set', 'dev', this.vethSrc, 'up']);
      await this.waitOperUp(5_000);
    }
    this.down = false;
  }

  isLinkDown(): boolean {
    return this.down;
  }

  async waitOperUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const routes = await runCommand(
        ['ip', '-n', this.src.ns, '-4', 'route', 'show', 'dev', this.vethSrc],
        {
          timeoutMs: 5_000,
        },
      );
      const state = await runCommand(
        ['ip', '-n', this.src.ns, '-j', 'link', 'show', 'dev', this.vethSrc],
        {
          timeoutMs: 5_000,
        },
      );
      let up = false;
      try {
        const j = JSON.parse(state.stdout) as Array<{ operstate?: string }>;
        up = j[0]?.operstate === 'UP';
      } catch {
        /* retry */
      }
      if (up && routes.stdout.includes('proto kernel')) return;
      await sleep(50);
    }
    throw new Error(`veth ${this.vethSrc} did not come back up within ${timeoutMs} ms`);
  }

  async wireStats(): Promise<{ rxBytes: number; txBytes: number }> {
    const out = await runChecked([
      'ip',
      '-n',
      this.src.ns,
      '-s',
      '-j',
      'link',
      'show',
      'dev',
      this.vethSrc,
    ]);
    const j = JSON.parse(out) as Array<{
      stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } };
    }>;
    const s = j[0]?.stats64;
    if (s?.rx?.bytes === undefined || s.tx?.bytes === undefined) {
      throw new Error(`no stats64 in ip -s -j link output for ${this.vethSrc}`);
    }
    return { rxBytes: s.rx.bytes, txBytes: s.tx.bytes };
  }

  async wireBytes(): Promise<number> {
    const s = await this.wireStats();
    return s.rxBytes + s.txBytes;
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const c of this.children) killGroup(c, 'SIGKILL');
    const errors: unknown[] = [];
    for (const ns of [this.src.ns, this.dst.ns]) {
      try {
        await deleteNetns(ns);
      } catch (err) {
        errors.push(err);
      }
    }
    livePairs.delete(this);
    if (errors.length > 0) throw errors[0];
  }

  /** Best effort, synchronous; for process 'exit'. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const c of this.children) killGroup(c, 'SIGKILL');
    for (const ns of [this.src.ns, this.dst.ns]) {
      try {
        const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5_000 });
        for (const p of out.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* ignore */
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
      } catch {
        /* ignore */
      }
    }
    livePairs.delete(this);
  }
}

let pfifoWorks: boolean | undefined;

/**
 * Create two namespaces (`<name>` source and destination) joined by a veth
 * pair, addressed 10.254.7.1/30 (src) and 10.254.7.2/30 (dst) by default.
 */
export async function createNetnsPair(
  name: string,
  opts: NetnsPairOptions = {},
): Promise<NetnsPair> {
  installExitHook();
  const n = counter++;
  const tag = `${sanitize(name)}-p${process.pid}-${n}`;
  const srcNs = `${NS_PREFIX}${tag}-src`;
  const dstNs = `${NS_PREFIX}${tag}-dst`;
  const short = `sv${process.pid.toString(36)}${n.toString(36)}`; // ≤ 12 chars
  const vethSrc = `${short}s`;
  const vethDst = `${short}d`;
  const prefixLen = opts.prefixLen ?? 30;
  const src: NetnsEnd = { ns: srcNs, addr: opts.srcAddr ?? '10.254.7.1' };
  const dst: NetnsEnd = { ns: dstNs, addr: opts.dstAddr ?? '10.254.7.2' };

  const pair = new PairImpl(
    tag,
    src,
    dst,
    vethSrc,
    vethDst,
    opts.linkDownMode ?? 'drop',
    prefixLen,
  );
  livePairs.add(pair);
  try {
    await runChecked(['ip', 'netns', 'add', srcNs]);
    await runChecked(['ip', 'netns', 'add', dstNs]);
    // Create both ends directly inside their namespaces: no name ever lives in
    // the host namespace, and deleting the namespaces deletes the pair.
    await runChecked([
      'ip',
      'link',
      'add',
      vethSrc,
      'netns',
      srcNs,
      'type',
      'veth',
      'peer',
      'name',
      vethDst,
      'netns',
      dstNs,
    ]);
    for (const [end, dev] of [
      [src, vethSrc],
      [dst, vethDst],
    ] as const) {
      // No IPv6: keeps router/neighbour solicitations out of the byte counters.
      await runCommand(
        ['ip', 'netns', 'exec', end.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1'],
        {
          timeoutMs: 10_000,
        },
      );
      await runCommand(
        [
          'ip',
          'netns',
          'exec',
          end.ns,
          'sysctl',
          '-q',
          '-w',
          'net.ipv6.conf.default.disable_ipv6=1',
        ],
        {
          timeoutMs: 10_000,
        },
      );
      await runChecked(['ip', '-n', end.ns, 'addr', 'add', `${end.addr}/${prefixLen}`, 'dev', dev]);
      await runChecked(['ip', '-n', end.ns, 'link', 'set', 'dev', 'lo', 'up']);
      await runChecked(['ip', '-n', end.ns, 'link', 'set', 'dev', dev, 'up']);
    }
    await pair.waitOperUp(10_000);
    if (pair.linkDownMode === 'drop') {
      if (pfifoWorks === undefined) {
        const r = await runCommand(
          ['tc', '-n', srcNs, 'qdisc', 'replace', 'dev', vethSrc, 'root', 'pfifo', 'limit', '0'],
          {
            timeoutMs: 10_000,
          },
        ).catch(() => undefined);
        pfifoWorks = r !== undefined && r.code === 0;
        if (pfifoWorks)
          await runChecked(['tc', '-n', srcNs, 'qdisc', 'del', 'dev', vethSrc, 'root']);
      }
      if (!pfifoWorks) pair.linkDownMode = 'down';
    }
  } catch (err) {
    await pair.cleanup().catch(() => undefined);
    throw err;
  }
  return pair;
}

let canUse: boolean | undefined;

/** True when running as root and `ip netns add` works. */
export async function canUseNetns(): Promise<boolean> {
  if (canUse !== undefined) return canUse;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return (canUse = false);
  const probe = `${NS_PREFIX}probe-p${process.pid}-${counter++}`;
  try {
    const r = await runCommand(['ip', 'netns', 'add', probe], { timeoutMs: 10_000 });
    canUse = r.code === 0;
  } catch {
    canUse = false;
  }
  if (canUse)
    await runCommand(['ip', 'netns', 'del', probe], { timeoutMs: 10_000 }).catch(() => undefined);
  return canUse;
}

/** Clean up every pair this process created and has not cleaned up yet. */
export async function cleanupAllNetns(): Promise<void> {
  const errors: unknown[] = [];
  for (const p of [...livePairs]) {
    try {
      await p.cleanup();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/** Synchronous best-effort version of cleanupAllNetns(), for signal handlers. */
export function cleanupAllNetnsSync(): void {
  for (const p of [...livePairs]) p.cleanupSync();
}

/**
 * Remove namespaces left behind by an earlier process of this module that was
 * killed before it could clean up (its pid, embedded in the name, is gone).
 * Returns the names removed.
 */
export async function sweepStaleNetns(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNetns()) {
    const m = /^scribe-.*-p(\d+)-\d+-(src|dst)$/.exec(ns) ?? /^scribe-probe-p(\d+)-\d+$/.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await deleteNetns(ns).catch(() => undefined);
    removed.push(ns);
  }
  return removed;
}
