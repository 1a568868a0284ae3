// Mover benchmark: Scribe's mover against rsync-over-OpenSSH (the way
// VolSync's rsync mover runs it) and against the plain rsync daemon, between
// two network namespaces joined by a veth pair. See README.md beside this file.
//
//   npm run bench:mover                      # full scale: ~2.6 GiB of data
//   SCRIBE_BENCH_SCALE=0.02 npm run bench:mover
//
// Needs root, iproute2, rsync, OpenSSH (ssh, sshd, ssh-keygen), coreutils.

import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  canUseNetns,
  cleanupAllNetns,
  cleanupAllNetnsSync,
  createNetnsPair,
  sweepStaleNetns,
  type ExecResult,
  type NetnsPair,
  runCommand,
} from '../../test/support/netns.ts';
import { median } from '../median.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const MOVER = path.join(REPO, 'mover', 'bin', 'scribe-mover.js');
const NODE = process.execPath;
// The mover runs as the image starts it, with the Node.js flags of its #! line
// (`#!/usr/bin/env -S node FLAGS`), under this (the pinned) Node.js.
const MOVER_NODE = [NODE, ...shebangNodeFlags(MOVER)];

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------------------
// configuration

const ALL_CONTENDERS = ['baseline-openssh', 'openssh-required', 'rsync-daemon', 'scribe'] as const;
type ContenderName = (typeof ALL_CONTENDERS)[number];
const ALL_DATASETS = ['large', 'small', 'mixed'] as const;
type DatasetName = (typeof ALL_DATASETS)[number];
const PHASES = ['full', 'nochange', 'change'] as const;
type Phase = (typeof PHASES)[number];
const BASELINE: ContenderName = 'baseline-openssh';

function envList<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...all];
  const out: T[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(all as readonly string[]).includes(item)) {
      throw new Error(`${name}: unknown value "${item}" (known: ${all.join(', ')})`);
    }
    if (!out.includes(item as T)) out.push(item as T);
  }
  if (out.length === 0) throw new Error(`${name} selects nothing`);
  return out;
}

/** The flags after `node` in a `#!/usr/bin/env -S node FLAGS` line. */
function shebangNodeFlags(file: string): string[] {
  const first = fs.readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node((?: \S+)*)$/.exec(first);
  if (!m) throw new Error(`${file}: its first line is not "#!/usr/bin/env -S node [FLAGS]"`);
  return m[1]!.split(' ').filter(Boolean);
}

function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

const config = {
  scale: envNumber('SCRIBE_BENCH_SCALE', 1),
  seed: Math.floor(envNumber('SCRIBE_BENCH_SEED', 1)),
  rounds: Math.max(1, Math.floor(envNumber('SCRIBE_BENCH_ROUNDS', 1))),
  contenders: envList('SCRIBE_BENCH_CONTENDERS', ALL_CONTENDERS),
  datasets: envList('SCRIBE_BENCH_DATASETS', ALL_DATASETS),
  workRoot: path.resolve(process.env.SCRIBE_BENCH_WORKDIR ?? path.join(HERE, 'work')),
  outDir: path.resolve(process.env.SCRIBE_BENCH_OUT ?? path.join(HERE, 'results')),
  keep: process.env.SCRIBE_BENCH_KEEP === '1',
  verify: (process.env.SCRIBE_BENCH_VERIFY ?? 'checksum') as 'checksum' | 'quick',
  cpuMethod: (process.env.SCRIBE_BENCH_CPU ?? 'auto') as 'auto' | 'cgroup2' | 'cgroup1' | 'proc',
  phaseTimeoutSec: 0,
  sshPort: 2222,
  rsyncdPort: 8730,
  scribePort: 2223,
};
config.phaseTimeoutSec = envNumber(
  'SCRIBE_BENCH_PHASE_TIMEOUT',
  Math.max(120, 1800 * config.scale),
);
if (!['checksum', 'quick'].includes(config.verify))
  throw new Error('SCRIBE_BENCH_VERIFY must be checksum or quick');
if (!['auto', 'cgroup2', 'cgroup1', 'proc'].includes(config.cpuMethod)) {
  throw new Error('SCRIBE_BENCH_CPU must be auto, cgroup2, cgroup1 or proc');
}

// ---------------------------------------------------------------------------
// logging and small helpers

const t0run = performance.now();
function log(msg: string): void {
  const t = ((performance.now() - t0run) / 1000).toFixed(1).padStart(7);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Run a command in the host namespace, bounded by timeoutMs. */
function sh(argv: string[], timeoutMs = 60_000, input?: string): Promise<ExecResult> {
  return runCommand(argv, { timeoutMs, input, track: hostChildren });
}

async function shOk(argv: string[], timeoutMs = 60_000): Promise<string> {
  const r = await sh(argv, timeoutMs);
  if (r.code !== 0 || r.timedOut) {
    throw new Error(
      `${argv.join(' ')}: exit ${r.code}${r.timedOut ? ' (timeout)' : ''}: ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

const hostChildren = new Set<ChildProcess>();

function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function fmt(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n.toFixed(digits);
}

// ---------------------------------------------------------------------------
// deterministic data

/** mulberry32: small, fast, deterministic; good enough for choosing sizes and offsets. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.next() * arr.length)] as T;
  }
}

function seedFrom(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0);
}

/** Incompressible, deterministic bytes: an AES-256-CTR keystream. */
class KeyStream {
  private cipher;
  private static zero = Buffer.alloc(4 * MiB);
  constructor(...label: (string | number)[]) {
    const key = createHash('sha256')
      .update(`scribe-bench/${label.join('/')}`)
      .digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }
  take(n: number): Buffer {
    if (n <= KeyStream.zero.length) return this.cipher.update(KeyStream.zero.subarray(0, n));
    const parts: Buffer[] = [];
    for (let left = n; left > 0; left -= KeyStream.zero.length) {
      parts.push(
        this.cipher.update(KeyStream.zero.subarray(0, Math.min(left, KeyStream.zero.length))),
      );
    }
    return Buffer.concat(parts);
  }
}

const WORDS = (
  'replica volume snapshot claim storage cluster node pod controller reconcile sync mover ' +
  'latency request response error warning info debug trace user order invoice payment ' +
  'account session token cache queue worker batch job schedule retry timeout backoff ' +
  'checksum block delta manifest schema table index commit rollback migrate shard region ' +
  'zone primary secondary leader follower heartbeat lease config secret service endpoint ' +
  'ingress gateway metrics histogram counter gauge alert threshold capacity quota limit'
).split(' ');
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

type TextKind = 'log' | 'json' | 'csv' | 'md';

/** Deterministic, compressible ASCII text of exactly n bytes. */
function textBytes(rng: Rng, kind: TextKind, n: number): Buffer {
  const lines: string[] = [];
  let len = 0;
  let ts = 1_700_000_000_000 + rng.int(0, 1e9);
  while (len < n) {
    let line: string;
    ts += rng.int(1, 2000);
    const w = () => rng.pick(WORDS);
    switch (kind) {
      case 'log':
        line = `${new Date(ts).toISOString()} ${rng.pick(LEVELS)} [${w()}-${rng.int(0, 9)}] ${w()} ${w()} ${w()} id=${rng
          .int(0, 0xffffff)
          .toString(16)} latency=${rng.int(1, 900)}ms`;
        break;
      case 'json':
        line = `  {"id": ${rng.int(1, 1e7)}, "type": "${w()}", "name": "${w()}-${w()}", "status": "${rng.pick(
          ['ok', 'pending', 'failed'],
        )}", "value": ${rng.int(0, 1e6) / 100}, "tags": ["${w()}", "${w()}"], "ts": ${ts}},`;
        break;
      case 'csv':
        line = `${ts},${w()},${w()},${rng.int(0, 99999)},${rng.int(0, 1e6) / 100},${rng.pick(LEVELS)}`;
        break;
      default:
        line =
          rng.next() < 0.1
            ? `## ${w()} ${w()}`
            : `The ${w()} ${w()} keeps the ${w()} ${w()} when the ${w()} is ${w()}; see ${w()}.`;
    }
    lines.push(line);
    len += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n', 'latin1').subarray(0, n);
}

interface FileEntry {
  path: string; // relative to the dataset root
  size: number;
  kind: 'bin' | TextKind;
}

interface DatasetInfo {
  name: DatasetName;
  files: number;
  bytes: number;
  dirs: number;
  symlinks: number;
  generateSeconds: number;
  manifest: FileEntry[];
}

const BASE_MTIME = 1_700_000_000; // fixed, so every run produces the same tree

async function writeEntry(
  root: string,
  e: FileEntry,
  rng: Rng,
  ks: KeyStream,
  index: number,
): Promise<void> {
  const full = path.join(root, e.path);
  await fsp.mkdir(path.dirname(full), { recursive: true });
  const fd = fs.openSync(full, 'w', e.kind === 'bin' && e.path.endsWith('.sh') ? 0o755 : 0o644);
  try {
    const chunk = 8 * MiB;
    for (let off = 0; off < e.size; off += chunk) {
      const n = Math.min(chunk, e.size - off);
      const buf = e.kind === 'bin' ? ks.take(n) : textBytes(rng, e.kind, n);
      fs.writeSync(fd, buf, 0, buf.length, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(full, BASE_MTIME + index, BASE_MTIME + index);
}

/** Sizes scale with SCRIBE_BENCH_SCALE; never below `min`; 4 KiB aligned when large. */
function scaled(bytes: number, min: number): number {
  const v = Math.max(min, Math.round(bytes * config.scale));
  return v >= 64 * KiB ? Math.round(v / (4 * KiB)) * (4 * KiB) : v;
}

function planDataset(name: DatasetName): FileEntry[] {
  const rng = new Rng(seedFrom(config.seed, 'plan', name));
  const files: FileEntry[] = [];
  const s = config.scale;
  if (name === 'large') {
    // 2 GiB of incompressible data in 4 files.
    for (let i = 0; i < 4; i++)
      files.push({ path: `disk-${i}.img`, size: scaled(512 * MiB, 64 * KiB), kind: 'bin' });
  } else if (name === 'small') {
    // 50,000 files of 1-8 KiB in nested dirs (100 per dir, 25 dirs per top dir).
    // Half incompressible, half text, so per-file overhead dominates.
    const count = Math.max(20, Math.round(50_000 * s));
    const kinds: FileEntry['kind'][] = ['bin', 'log', 'json', 'md'];
    for (let i = 0; i < count; i++) {
      const dir = Math.floor(i / 100);
      const kind = i % 2 === 0 ? 'bin' : (kinds[1 + ((i >> 1) % 3)] as FileEntry['kind']);
      files.push({
        path: `t${String(Math.floor(dir / 25)).padStart(2, '0')}/d${String(dir % 25).padStart(2, '0')}/f${String(
          i,
        ).padStart(5, '0')}.${kind === 'bin' ? 'bin' : kind}`,
        size: rng.int(1 * KiB, 8 * KiB),
        kind,
      });
    }
  } else {
    // ~300 MiB: compressible text/JSON/logs, incompressible binaries, medium
    // files, a database-like half-compressible file, a few hundred small files.
    for (let i = 0; i < 24; i++) {
      files.push({
        path: `logs/app-${i}.log`,
        size: scaled(rng.int(2 * MiB, 3 * MiB), 4 * KiB),
        kind: 'log',
      });
    }
    for (let i = 0; i < 12; i++) {
      files.push({
        path: `data/export-${i}.json`,
        size: scaled(rng.int(2 * MiB, 3 * MiB), 4 * KiB),
        kind: 'json',
      });
    }
    for (let i = 0; i < 4; i++) {
      files.push({
        path: `data/table-${i}.csv`,
        size: scaled(rng.int(1 * MiB, 2 * MiB), 4 * KiB),
        kind: 'csv',
      });
    }
    for (let i = 0; i < 8; i++) {
      files.push({ path: `bin/blob-${i}.tar.zst`, size: scaled(14 * MiB, 16 * KiB), kind: 'bin' });
    }
    for (let i = 0; i < 48; i++) {
      const kind: FileEntry['kind'] = i % 3 === 0 ? 'md' : 'bin';
      files.push({
        path: `media/set-${i % 6}/item-${i}.${kind === 'bin' ? 'jpg' : 'md'}`,
        size: scaled(rng.int(512 * KiB, 2 * MiB), 8 * KiB),
        kind,
      });
    }
    // A database-like file: alternating text and incompressible 1 MiB regions.
    files.push({ path: 'db/store-0.db', size: scaled(32 * MiB, 64 * KiB), kind: 'bin' });
    files.push({ path: 'db/store-0.wal', size: scaled(8 * MiB, 16 * KiB), kind: 'log' });
    const small = Math.max(50, Math.round(400 * s));
    const sk: FileEntry['kind'][] = ['bin', 'md', 'json', 'log'];
    for (let i = 0; i < small; i++) {
      const kind = sk[i % sk.length] as FileEntry['kind'];
      files.push({
        path: `src/pkg-${i % 20}/mod-${i}.${kind === 'bin' ? 'o' : kind}`,
        size: rng.int(512, 16 * KiB),
        kind,
      });
    }
    files.push({ path: 'etc/empty.conf', size: 0, kind: 'md' });
    files.push({ path: 'bin/run.sh', size: 2 * KiB, kind: 'bin' });
  }
  return files;
}

async function generateDataset(name: DatasetName, root: string): Promise<DatasetInfo> {
  const t = performance.now();
  await fsp.rm(root, { recursive: true, force: true });
  await fsp.mkdir(root, { recursive: true, mode: 0o755 });
  const manifest = planDataset(name);
  const rng = new Rng(seedFrom(config.seed, 'content', name));
  const ks = new KeyStream(config.seed, 'content', name);
  let bytes = 0;
  for (let i = 0; i < manifest.length; i++) {
    checkAbort();
    const e = manifest[i] as FileEntry;
    await writeEntry(root, e, rng, ks, i);
    bytes += e.size;
  }
  let symlinks = 0;
  if (name === 'mixed') {
    await fsp.mkdir(path.join(root, 'var', 'empty'), { recursive: true });
    await fsp.symlink('../logs/app-0.log', path.join(root, 'data', 'latest.log'));
    // Relative and inside the tree: rsyncd without chroot rewrites absolute
    // and escaping symlink targets, which would make its copy differ.
    await fsp.symlink('../var/missing/target', path.join(root, 'etc', 'dangling'));
    symlinks = 2;
    for (const l of ['data/latest.log', 'etc/dangling']) {
      await fsp.lutimes(path.join(root, l), BASE_MTIME, BASE_MTIME);
    }
  }
  // Directory mtimes last, deepest first, so every run's tree is identical.
  const dirs: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const ent of await fsp.readdir(d, { withFileTypes: true })) {
      if (ent.isDirectory()) {
        const p = path.join(d, ent.name);
        await walk(p);
        dirs.push(p);
      }
    }
  };
  await walk(root);
  dirs.push(root);
  for (const d of dirs) await fsp.utimes(d, BASE_MTIME, BASE_MTIME);
  return {
    name,
    files: manifest.length,
    bytes,
    dirs: dirs.length,
    symlinks,
    generateSeconds: (performance.now() - t) / 1000,
    manifest,
  };
}

interface ChangeInfo {
  filesTouched: number;
  largeFileWrites: number;
  smallFilesRewritten: number;
  bytesChanged: number;
  fractionOfBytes: number;
}

/**
 * Modify ~1% of the bytes, deterministically (same seed -> same change for
 * every contender): files >= 256 KiB get writes totalling 1% of their size,
 * spread over equal strata of the file (one write at a random offset in each
 * stratum, 4 KiB each: page-sized writes, as a database makes); 1% of the smaller files (at least one) are
 * rewritten whole with new content of the same size and kind. Touched files
 * get a new fixed mtime.
 */
async function applyChange(root: string, info: DatasetInfo): Promise<ChangeInfo> {
  const rng = new Rng(seedFrom(config.seed, 'change', info.name));
  const ks = new KeyStream(config.seed, 'change', info.name);
  const big = info.manifest.filter((e) => e.size >= 256 * KiB);
  const small = info.manifest.filter((e) => e.size > 0 && e.size < 256 * KiB);
  let bytesChanged = 0;
  let writes = 0;
  const newTime = BASE_MTIME + 86_400 * 30;
  for (const e of big) {
    const target = Math.max(4 * KiB, Math.round(e.size * 0.01));
    const w = 4 * KiB;
    const n = Math.max(1, Math.round(target / w));
    const stratum = Math.floor(e.size / n);
    const full = path.join(root, e.path);
    const fd = fs.openSync(full, 'r+');
    try {
      for (let i = 0; i < n; i++) {
        const len = Math.min(w, stratum);
        const off = i * stratum + rng.int(0, Math.max(0, stratum - len));
        const buf = e.kind === 'bin' ? ks.take(len) : textBytes(rng, e.kind, len);
        fs.writeSync(fd, buf, 0, len, off);
        bytesChanged += len;
        writes++;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.utimesSync(full, newTime, newTime);
  }
  // Seeded choice of exactly ceil(1%) of the small files.
  const nSmall = small.length === 0 ? 0 : Math.max(1, Math.ceil(small.length * 0.01));
  const order = small.map((e) => ({ e, k: rng.next() }));
  order.sort((a, b) => a.k - b.k);
  for (const { e } of order.slice(0, nSmall)) {
    const full = path.join(root, e.path);
    const buf = e.kind === 'bin' ? ks.take(e.size) : textBytes(rng, e.kind, e.size);
    fs.writeFileSync(full, buf);
    fs.utimesSync(full, newTime, newTime);
    bytesChanged += e.size;
  }
  return {
    filesTouched: big.length + nSmall,
    largeFileWrites: writes,
    smallFilesRewritten: nSmall,
    bytesChanged,
    fractionOfBytes: info.bytes > 0 ? bytesChanged / info.bytes : 0,
  };
}

// ---------------------------------------------------------------------------
// CPU accounting

interface CpuAccounting {
  method: 'cgroup2' | 'cgroup1-cpuacct' | 'proc';
  note: string;
  serverCg?: string;
  clientCg?: string;
  /** Cumulative CPU seconds (user+sys) of a cgroup. */
  readCg(cg: string): Promise<number>;
  cleanup(): Promise<void>;
}

async function cgroupMounts(): Promise<{ v2?: string; cpuacct?: string }> {
  const out: { v2?: string; cpuacct?: string } = {};
  const mounts = await fsp.readFile('/proc/self/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, mnt, type, opts] = line.split(' ');
    if (mnt === undefined || type === undefined) continue;
    if (type === 'cgroup2' && out.v2 === undefined) out.v2 = mnt;
    if (
      type === 'cgroup' &&
      (opts ?? '').split(',').includes('cpuacct') &&
      out.cpuacct === undefined
    ) {
      out.cpuacct = mnt;
    }
  }
  return out;
}

async function readCgroup2(cg: string): Promise<number> {
  const txt = await fsp.readFile(path.join(cg, 'cpu.stat'), 'utf8');
  const m = /^usage_usec (\d+)$/m.exec(txt);
  if (!m) throw new Error(`no usage_usec in ${cg}/cpu.stat`);
  return Number(m[1]) / 1e6;
}

async function readCgroup1(cg: string): Promise<number> {
  const txt = await fsp.readFile(path.join(cg, 'cpuacct.usage'), 'utf8');
  return Number(txt.trim()) / 1e9;
}

async function rmCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      await sleep(100);
    }
  }
  log(`warning: could not remove cgroup ${dir}`);
}

async function tryCgroup(
  kind: 'cgroup2' | 'cgroup1-cpuacct',
  mount: string,
): Promise<CpuAccounting> {
  const parent = path.join(mount, `scribe-bench-${process.pid}`);
  const serverCg = path.join(parent, 'server');
  const clientCg = path.join(parent, 'client');
  const read = kind === 'cgroup2' ? readCgroup2 : readCgroup1;
  const acct: CpuAccounting = {
    method: kind,
    note: '',
    serverCg,
    clientCg,
    readCg: read,
    cleanup: async () => {
      await rmCgroup(serverCg);
      await rmCgroup(clientCg);
      await rmCgroup(parent);
    },
  };
  cgroupsToRemove.push(serverCg, clientCg, parent);
  try {
    await fsp.mkdir(parent);
    await fsp.mkdir(serverCg);
    await fsp.mkdir(clientCg);
    // Prove that a process can join and that its CPU time shows up.
    const before = await read(clientCg);
    const r = await sh(
      [
        'sh',
        '-c',
        'echo $$ > "$1/cgroup.procs" && i=0 && while [ $i -lt 100000 ]; do i=$((i+1)); done',
        'sh',
        clientCg,
      ],
      30_000,
    );
    if (r.code !== 0) throw new Error(`joining ${clientCg} failed: ${r.stderr.trim()}`);
    const after = await read(clientCg);
    if (!(after > before)) throw new Error(`no CPU time recorded in ${clientCg}`);
    acct.note = `${kind} groups ${serverCg} and ${clientCg}; CPU = ${
      kind === 'cgroup2' ? 'cpu.stat usage_usec' : 'cpuacct.usage'
    } delta (user+sys of every process in the group, exited ones included)`;
    return acct;
  } catch (err) {
    await acct.cleanup();
    throw err;
  }
}

async function setupCpuAccounting(): Promise<CpuAccounting> {
  const mounts = await cgroupMounts();
  const notes: string[] = [];
  const want = config.cpuMethod;
  if ((want === 'auto' || want === 'cgroup2') && mounts.v2 !== undefined) {
    try {
      return await tryCgroup('cgroup2', mounts.v2);
    } catch (err) {
      notes.push(`cgroup v2 at ${mounts.v2} unusable: ${(err as Error).message}`);
    }
  } else if (want === 'auto' || want === 'cgroup2') {
    notes.push('no cgroup2 mount');
  }
  if ((want === 'auto' || want === 'cgroup1') && mounts.cpuacct !== undefined) {
    try {
      const a = await tryCgroup('cgroup1-cpuacct', mounts.cpuacct);
      a.note = [...notes, a.note].join('; ');
      return a;
    } catch (err) {
      notes.push(`cgroup v1 cpuacct at ${mounts.cpuacct} unusable: ${(err as Error).message}`);
    }
  }
  if (!fs.existsSync('/usr/bin/time'))
    throw new Error(`no usable CPU accounting: ${notes.join('; ')}`);
  return {
    method: 'proc',
    note: [
      ...notes,
      'fallback: client CPU from /usr/bin/time (%U+%S of the client process tree); server CPU from ' +
        '/proc/PID/stat utime+stime+cutime+cstime of the server process (children counted once reaped)',
    ].join('; '),
    readCg: () => Promise.resolve(0),
    cleanup: () => Promise.resolve(),
  };
}

const CLK_TCK = 100;
async function procCpuSeconds(pid: number): Promise<number> {
  try {
    const txt = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = txt.slice(txt.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    const n = (i: number) => Number(fields[i - 3] ?? 0);
    return (n(14) + n(15) + n(16) + n(17)) / CLK_TCK;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------
/** `list` turned left `by` places: round r starts with the r-th contender. */
function rotated<T>(list: readonly T[], by: number): T[] {
  const k = list.length ? by % list.length : 0;
  return [...list.slice(k), ...list.slice(0, k)];
}

// servers and contenders

interface Server {
  child: ChildProcess;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

interface Ctx {
  pair: NetnsPair;
  cpu: CpuAccounting;
  work: string;
  keysDir: string;
  dataset: DatasetName;
  src: string;
  dst: string;
}

function startServer(
  ctx: Ctx,
  argv: string[],
  logFile: string,
  ready: (text: string) => boolean,
  readyTimeoutMs: number,
  pollPort?: number,
): Promise<Server> {
  const out = fs.createWriteStream(logFile, { flags: 'a' });
  const child = ctx.pair.spawnIn(ctx.pair.dst.ns, argv, {
    ...(ctx.cpu.serverCg !== undefined ? { cgroup: ctx.cpu.serverCg } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const onData = (b: Buffer) => {
    out.write(b);
    if (text.length < 1 << 20) text += b.toString('utf8');
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const server: Server = {
    child,
    pid: child.pid ?? -1,
    logFile,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-server.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        await Promise.race([exited, sleep(5_000)]);
        if (child.exitCode === null && child.signalCode === null) {
          killTree(child);
          await Promise.race([exited, sleep(5_000)]);
        }
      }
      // Anything the server left in the destination namespace (forked children).
      try {
        for (let i = 0; i < 50 && (await nsPidCount(ctx.pair)) > 0; i++) await sleep(100);
        const left = await sh(['ip', 'netns', 'pids', ctx.pair.dst.ns], 10_000);
        for (const p of left.stdout.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      out.end();
    },
  };
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + readyTimeoutMs;
    let done = false;
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      void server
        .stop()
        .finally(() => reject(new Error(`${msg}; log ${logFile}: ${text.trim().slice(-1500)}`)));
    };
    child.once('exit', (code, sig) =>
      fail(`${argv[0]} exited early (code ${code}, signal ${sig})`),
    );
    child.once('error', (e) => fail(`${argv[0]} failed to start: ${e.message}`));
    const poll = async () => {
      while (!done) {
        if (ready(text) || (pollPort !== undefined && (await listening(ctx.pair, pollPort)))) {
          done = true;
          resolve(server);
          return;
        }
        if (Date.now() > deadline) {
          fail(`${argv[0]} not ready after ${readyTimeoutMs} ms`);
          return;
        }
        await sleep(50);
      }
    };
    void poll();
  });
}

async function listening(pair: NetnsPair, port: number): Promise<boolean> {
  const r = await pair.exec(pair.dst.ns, ['ss', '-Hltn', `sport = :${port}`], {
    check: false,
    timeoutMs: 5_000,
  });
  return r.code === 0 && r.stdout.trim().length > 0;
}

async function nsPidCount(pair: NetnsPair): Promise<number> {
  const r = await sh(['ip', 'netns', 'pids', pair.dst.ns], 10_000);
  return r.stdout.split(/\s+/).filter(Boolean).length;
}

interface ClientOutcome {
  extra?: Record<string, unknown>;
  error?: string;
}

interface Contender {
  name: ContenderName;
  start(ctx: Ctx): Promise<Server>;
  clientArgv(ctx: Ctx): string[];
  interpret?(r: ExecResult): ClientOutcome;
  /** Destination paths that are the contender's own metadata, not volume data. */
  verifyExclude?: string[];
}

/** Relative, so rsync keeps it out of the transfer and deletions. */
const requiredPartialDir = '.rsync-partial';

let sshProbe:
  { cipher?: string; mac?: string; kex?: string; hostKeyAlg?: string; raw?: string } | undefined;

const contenders: Record<ContenderName, Contender> = {
  'baseline-openssh': {
    name: 'baseline-openssh',
    async start(ctx) {
      const dir = path.join(ctx.work, 'sshd');
      const cfg = path.join(dir, `sshd_config-${ctx.dataset}`);
      await fsp.writeFile(
        cfg,
        [
          `Port ${config.sshPort}`,
          `ListenAddress ${ctx.pair.dst.addr}`,
          `HostKey ${path.join(ctx.keysDir, 'ssh_host_ed25519_key')}`,
          `AuthorizedKeysFile ${path.join(ctx.keysDir, 'authorized_keys')}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          'UsePAM no',
          'PermitRootLogin prohibit-password',
          // The keys live in the work dir: under /tmp (world-writable) sshd's
          // default StrictModes refuses them, and every baseline row fails.
          'StrictModes no',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PrintMotd no',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      await ensurePrivsepDir();
      // sshd runs the remote rsync through root's login shell, and bash reads
      // ~/.bashrc for commands that come over ssh. A developer machine's
      // ~/.bashrc can be costly (here: `pyenv init`, ~0.9 s of CPU per
      // session) where a mover container's is empty, so by default sshd gets
      // an empty ~/.bashrc: a bind mount inside the private mount namespace
      // that `ip netns exec` gives it, gone when sshd exits, never visible to
      // the host. SCRIBE_BENCH_SSH_BASHRC=1 keeps the real one.
      const sshd = ['/usr/sbin/sshd', '-D', '-f', cfg, '-e'];
      const bashrc = path.join(os.userInfo().homedir, '.bashrc');
      let argv = sshd;
      if (process.env.SCRIBE_BENCH_SSH_BASHRC !== '1' && fs.existsSync(bashrc)) {
        const empty = path.join(dir, 'empty-bashrc');
        await fsp.writeFile(empty, '', { mode: 0o644 });
        argv = [
          'sh',
          '-c',
          'mount --bind "$1" "$2" && shift 2 && exec "$@"',
          'sh',
          empty,
          bashrc,
          ...sshd,
        ];
        bashrcHidden = bashrc;
      }
      return startServer(
        ctx,
        argv,
        path.join(dir, 'sshd.log'),
        (t) => t.includes(`Server listening on ${ctx.pair.dst.addr} port ${config.sshPort}`),
        15_000,
        config.sshPort,
      );
    },
    clientArgv(ctx) {
      return [
        'rsync',
        '-aAhHSxz',
        '--delete',
        '-e',
        sshCommand(ctx),
        `${ctx.src}/`,
        `root@${ctx.pair.dst.addr}:${ctx.dst}/`,
      ];
    },
  },
  // The baseline plus the work issue 2 asks of every sync and the baseline
  // skips: xattrs (-X), numeric ids, a resume directory, and a flush of the
  // destination before the sync counts as done (rsync's server, then
  // `sync -f`, in one remote command, so the client's wall includes it). Its
  // distance from the baseline is the price of those requirements; scribe's
  // distance from it is the price of Scribe's own transport and choices.
  'openssh-required': {
    name: 'openssh-required',
    verifyExclude: [`/${requiredPartialDir}/`],
    async start(ctx) {
      const dir = path.join(ctx.work, 'sshd');
      await fsp.mkdir(dir, { recursive: true });
      // The destination is the server's last argument.
      await fsp.writeFile(
        path.join(dir, 'rsync-then-flush'),
        '#!/bin/sh\nfor last; do :; done\nrsync "$@" || exit $?\nexec sync -f "$last"\n',
        { mode: 0o755 },
      );
      return contenders['baseline-openssh'].start(ctx);
    },
    clientArgv(ctx) {
      return [
        'rsync',
        '-aAhHSxzX',
        '--numeric-ids',
        `--partial-dir=${requiredPartialDir}`,
        '--delete',
        `--rsync-path=${path.join(ctx.work, 'sshd', 'rsync-then-flush')}`,
        '-e',
        sshCommand(ctx),
        `${ctx.src}/`,
        `root@${ctx.pair.dst.addr}:${ctx.dst}/`,
      ];
    },
  },
  'rsync-daemon': {
    name: 'rsync-daemon',
    async start(ctx) {
      const dir = path.join(ctx.work, 'rsyncd');
      const cfg = path.join(dir, `rsyncd-${ctx.dataset}.conf`);
      await fsp.writeFile(
        cfg,
        [
          `pid file = ${path.join(dir, 'rsyncd.pid')}`,
          `log file = ${path.join(dir, 'rsyncd.log')}`,
          `address = ${ctx.pair.dst.addr}`,
          `port = ${config.rsyncdPort}`,
          'use chroot = no',
          'reverse lookup = no',
          '',
          '[mod]',
          `    path = ${ctx.dst}`,
          '    uid = root',
          '    gid = root',
          '    use chroot = no',
          '    read only = false',
          // Without chroot rsyncd munges symlinks by default; a real copy needs them as they are.
          '    munge symlinks = no',
          '',
        ].join('\n'),
      );
      await fsp.rm(path.join(dir, 'rsyncd.pid'), { force: true });
      return startServer(
        ctx,
        ['rsync', '--daemon', '--no-detach', `--config=${cfg}`],
        path.join(dir, 'rsyncd.stderr.log'),
        () => false,
        15_000,
        config.rsyncdPort,
      );
    },
    clientArgv(ctx) {
      return [
        'rsync',
        '-aAHSx',
        '--delete',
        `${ctx.src}/`,
        `rsync://${ctx.pair.dst.addr}:${config.rsyncdPort}/mod/`,
      ];
    },
  },
  scribe: {
    name: 'scribe',
    // The receiver's completion marker lives in the volume, at /.scribe/.
    verifyExclude: ['/.scribe/'],
    async start(ctx) {
      const dir = path.join(ctx.work, 'scribe');
      return startServer(
        ctx,
        [
          ...MOVER_NODE,
          MOVER,
          'receive',
          '--volume',
          ctx.dst,
          '--listen',
          `${ctx.pair.dst.addr}:${config.scribePort}`,
          '--host-key',
          path.join(ctx.keysDir, 'scribe', 'host_ed25519'),
          '--authorized-key',
          path.join(ctx.keysDir, 'scribe', 'client_ed25519.pub'),
        ],
        path.join(dir, `receive-${ctx.dataset}.log`),
        (t) => /"msg"\s*:\s*"listening"/.test(t),
        30_000,
      );
    },
    clientArgv(ctx) {
      return [
        ...MOVER_NODE,
        MOVER,
        'send',
        '--volume',
        ctx.src,
        '--to',
        `${ctx.pair.dst.addr}:${config.scribePort}`,
        '--key',
        path.join(ctx.keysDir, 'scribe', 'client_ed25519'),
        '--known-host-key',
        path.join(ctx.keysDir, 'scribe', 'host_ed25519.pub'),
        '--json',
        // e.g. SCRIBE_BENCH_SCRIBE_ARGS='--ssh-client openssh' to compare transports
        ...(process.env.SCRIBE_BENCH_SCRIBE_ARGS ?? '').split(/\s+/).filter(Boolean),
      ];
    },
    interpret(r) {
      const lines = r.stdout.trim().split('\n').reverse();
      for (const line of lines) {
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          if (j !== null && typeof j === 'object' && 'result' in j) {
            const ok = ['success', 'succeeded', 'ok', 'completed', 'synced'].includes(
              String(j.result),
            );
            return ok ? { extra: j } : { extra: j, error: `scribe result "${String(j.result)}"` };
          }
        } catch {
          /* not JSON */
        }
      }
      return { error: 'no --json result line on stdout' };
    },
  },
};

function sshCommand(ctx: Ctx): string {
  return (
    `ssh -p ${config.sshPort} -i ${path.join(ctx.keysDir, 'ssh_client_ed25519')} ` +
    `-o UserKnownHostsFile=${path.join(ctx.keysDir, 'known_hosts')} -o StrictHostKeyChecking=yes`
  );
}

let createdPrivsepDir = false;
let bashrcHidden: string | undefined;
const PRIVSEP = '/run/sshd';
const PRIVSEP_MARK = '.created-by-scribe-bench-';
async function ensurePrivsepDir(): Promise<void> {
  // sshd refuses to start without its privilege separation directory. If we
  // create it, a marker inside says so, so that a run killed outright can be
  // tidied by the next one (sweepStaleRuns).
  if (!fs.existsSync(PRIVSEP)) {
    await fsp.mkdir(PRIVSEP, { mode: 0o755 });
    createdPrivsepDir = true;
    await fsp.writeFile(path.join(PRIVSEP, `${PRIVSEP_MARK}${process.pid}`), '');
  }
}

function removePrivsepDirSync(): void {
  if (!createdPrivsepDir) return;
  createdPrivsepDir = false;
  try {
    fs.rmSync(path.join(PRIVSEP, `${PRIVSEP_MARK}${process.pid}`), { force: true });
    fs.rmdirSync(PRIVSEP); // only if nothing else is in it
  } catch {
    /* in use or gone */
  }
}

async function makeKeys(work: string, dstAddr: string, withScribe: boolean): Promise<string> {
  const dir = path.join(work, 'keys');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await shOk([
    'ssh-keygen',
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'bench-host',
    '-f',
    path.join(dir, 'ssh_host_ed25519_key'),
  ]);
  await shOk([
    'ssh-keygen',
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'bench-client',
    '-f',
    path.join(dir, 'ssh_client_ed25519'),
  ]);
  const clientPub = await fsp.readFile(path.join(dir, 'ssh_client_ed25519.pub'), 'utf8');
  await fsp.writeFile(path.join(dir, 'authorized_keys'), clientPub, { mode: 0o600 });
  const hostPub = (await fsp.readFile(path.join(dir, 'ssh_host_ed25519_key.pub'), 'utf8'))
    .trim()
    .split(' ');
  await fsp.writeFile(
    path.join(dir, 'known_hosts'),
    `[${dstAddr}]:${config.sshPort} ${hostPub[0]} ${hostPub[1]}\n`,
    { mode: 0o600 },
  );
  if (withScribe) {
    const r = await sh([NODE, MOVER, 'keygen', '--out', path.join(dir, 'scribe')], 60_000);
    if (r.code !== 0) throw new Error(`scribe-mover keygen failed: ${r.stderr.trim()}`);
    for (const f of ['client_ed25519', 'client_ed25519.pub', 'host_ed25519', 'host_ed25519.pub']) {
      if (!fs.existsSync(path.join(dir, 'scribe', f)))
        throw new Error(`scribe-mover keygen did not write ${f}`);
    }
  }
  return dir;
}

/** One ssh connection with -v to see what OpenSSH negotiates by default. */
async function probeSsh(ctx: Ctx): Promise<void> {
  const r = await ctx.pair.exec(
    ctx.pair.src.ns,
    ['sh', '-c', `${sshCommand(ctx)} -v root@${ctx.pair.dst.addr} true`],
    { check: false, timeoutMs: 30_000 },
  );
  const m = /kex: server->client cipher: (\S+) MAC: (\S+) compression: (\S+)/.exec(r.stderr);
  const kex = /kex: algorithm: (\S+)/.exec(r.stderr);
  const hk = /kex: host key algorithm: (\S+)/.exec(r.stderr);
  sshProbe = {
    ...(m?.[1] !== undefined ? { cipher: m[1], mac: m[2] } : {}),
    ...(kex?.[1] !== undefined ? { kex: kex[1] } : {}),
    ...(hk?.[1] !== undefined ? { hostKeyAlg: hk[1] } : {}),
  };
  if (r.code !== 0) sshProbe.raw = r.stderr.trim().slice(-800);
}

// ---------------------------------------------------------------------------
// phases

interface Row {
  dataset: DatasetName;
  phase: Phase;
  contender: ContenderName;
  /** Which round (1-based); absent on the medians of several rounds. */
  round?: number;
  valid: boolean;
  invalidReason?: string;
  wallSeconds: number | null;
  wireBytes: number | null;
  cpuClientSeconds: number | null;
  cpuServerSeconds: number | null;
  cpuSeconds: number | null;
  exitCode?: number | null;
  cacheDropped?: boolean;
  change?: ChangeInfo;
  verifyDiff?: string[];
  scribe?: Record<string, unknown>;
  ratio?: { wall: number | null; wire: number | null; cpu: number | null };
}

let dropCachesWorks: boolean | undefined;
async function dropCaches(): Promise<boolean> {
  await sh(['sync'], 300_000);
  try {
    await fsp.writeFile('/proc/sys/vm/drop_caches', '3\n');
    dropCachesWorks = true;
  } catch (err) {
    if (dropCachesWorks === undefined)
      log(`warning: cannot drop page cache: ${(err as Error).message}`);
    dropCachesWorks = false;
  }
  return dropCachesWorks;
}

async function verify(src: string, dst: string, exclude: string[] = []): Promise<string[]> {
  const argv = ['rsync', '-aAHSXn', '--delete', '--itemize-changes'];
  if (config.verify === 'checksum') argv.push('--checksum');
  for (const e of exclude) argv.push(`--exclude=${e}`);
  argv.push(`${src}/`, `${dst}/`);
  const r = await sh(argv, Math.max(120_000, 1_200_000 * config.scale));
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  if (r.code !== 0 || r.timedOut)
    lines.unshift(
      `verify rsync exit ${r.code}${r.timedOut ? ' (timeout)' : ''}: ${r.stderr.trim()}`,
    );
  return lines;
}

async function runPhase(
  ctx: Ctx,
  c: Contender,
  phase: Phase,
  server: Server,
  idlePids: number,
): Promise<Row> {
  const row: Row = {
    dataset: ctx.dataset,
    phase,
    contender: c.name,
    valid: false,
    wallSeconds: null,
    wireBytes: null,
    cpuClientSeconds: null,
    cpuServerSeconds: null,
    cpuSeconds: null,
  };
  if (phase === 'full' && process.env.SCRIBE_BENCH_DROP_CACHES !== '0')
    row.cacheDropped = await dropCaches();
  const cpu = ctx.cpu;
  let argv = c.clientArgv(ctx);
  const timeFile = path.join(ctx.work, 'client.time');
  if (cpu.method === 'proc') {
    await fsp.rm(timeFile, { force: true });
    argv = ['/usr/bin/time', '-f', '%U %S', '-o', timeFile, ...argv];
  }
  const wire0 = await ctx.pair.wireBytes();
  const cpuS0 =
    cpu.method === 'proc'
      ? await procCpuSeconds(server.pid)
      : await cpu.readCg(cpu.serverCg as string);
  const cpuC0 = cpu.method === 'proc' ? 0 : await cpu.readCg(cpu.clientCg as string);
  const t = performance.now();
  const r = await ctx.pair.exec(ctx.pair.src.ns, argv, {
    check: false,
    timeoutMs: config.phaseTimeoutSec * 1000,
    ...(cpu.clientCg !== undefined ? { cgroup: cpu.clientCg } : {}),
  });
  row.wallSeconds = (performance.now() - t) / 1000;
  row.exitCode = r.code;
  // Let the server side finish (sshd's per-connection processes, rsync daemon children).
  for (let i = 0; i < 200 && (await nsPidCount(ctx.pair)) > idlePids; i++) await sleep(50);
  row.wireBytes = (await ctx.pair.wireBytes()) - wire0;
  if (cpu.method === 'proc') {
    row.cpuServerSeconds = (await procCpuSeconds(server.pid)) - cpuS0;
    try {
      const [u, s] = (await fsp.readFile(timeFile, 'utf8'))
        .trim()
        .split('\n')
        .pop()!
        .split(' ')
        .map(Number);
      row.cpuClientSeconds = (u ?? NaN) + (s ?? NaN);
    } catch {
      row.cpuClientSeconds = null;
    }
  } else {
    row.cpuServerSeconds = (await cpu.readCg(cpu.serverCg as string)) - cpuS0;
    row.cpuClientSeconds = (await cpu.readCg(cpu.clientCg as string)) - cpuC0;
  }
  row.cpuSeconds =
    row.cpuClientSeconds !== null && row.cpuServerSeconds !== null
      ? row.cpuClientSeconds + row.cpuServerSeconds
      : null;
  const problems: string[] = [];
  if (r.timedOut) problems.push(`client timed out after ${config.phaseTimeoutSec} s`);
  else if (r.code !== 0)
    problems.push(
      `client exit ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr.trim().slice(-600)}`,
    );
  if (c.interpret) {
    const o = c.interpret(r);
    if (o.extra) row.scribe = o.extra;
    if (o.error) problems.push(o.error);
  }
  const diff = await verify(ctx.src, ctx.dst, c.verifyExclude ?? []);
  if (diff.length > 0) {
    problems.push(`destination differs from source (${diff.length} item(s))`);
    row.verifyDiff = diff.slice(0, 20);
  }
  row.valid = problems.length === 0;
  if (!row.valid) row.invalidReason = problems.join('; ');
  log(
    `${ctx.dataset}/${phase}/${c.name}: wall ${fmt(row.wallSeconds, 3)} s, wire ${fmt(
      (row.wireBytes ?? 0) / MiB,
    )} MiB, cpu ${fmt(row.cpuClientSeconds)}+${fmt(row.cpuServerSeconds)} s${row.valid ? '' : `  INVALID: ${row.invalidReason}`}`,
  );
  return row;
}

function invalidRow(ds: DatasetName, phase: Phase, c: ContenderName, reason: string): Row {
  return {
    dataset: ds,
    phase,
    contender: c,
    valid: false,
    invalidReason: reason,
    wallSeconds: null,
    wireBytes: null,
    cpuClientSeconds: null,
    cpuServerSeconds: null,
    cpuSeconds: null,
  };
}

// ---------------------------------------------------------------------------
// report

interface Target {
  id: string;
  description: string;
  dataset: DatasetName;
  phase: Phase;
  metric: 'wall' | 'wire';
  max: number;
  ratio: number | null;
  status: 'PASS' | 'FAIL' | 'n/a';
  why?: string;
  /** scribe ÷ openssh-required: what Scribe costs beyond the work the issue requires. */
  versusRequired?: number | null;
}

function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return a / b;
}

function computeTargets(rows: Row[]): Target[] {
  const specs: Omit<Target, 'ratio' | 'status'>[] = [
    {
      id: 'large-full-wall',
      description: 'large full sync wall',
      dataset: 'large',
      phase: 'full',
      metric: 'wall',
      max: 0.7,
    },
    {
      id: 'small-full-wall',
      description: 'small full sync wall',
      dataset: 'small',
      phase: 'full',
      metric: 'wall',
      max: 0.9,
    },
    {
      id: 'mixed-full-wall',
      description: 'mixed full sync wall',
      dataset: 'mixed',
      phase: 'full',
      metric: 'wall',
      max: 0.9,
    },
    {
      id: 'mixed-full-wire',
      description: 'mixed full sync wire',
      dataset: 'mixed',
      phase: 'full',
      metric: 'wire',
      max: 1.0,
    },
  ];
  for (const ds of ALL_DATASETS) {
    specs.push({
      id: `${ds}-change-wire`,
      description: `${ds} 1% change wire`,
      dataset: ds,
      phase: 'change',
      metric: 'wire',
      max: 0.3,
    });
    specs.push({
      id: `${ds}-change-wall`,
      description: `${ds} 1% change wall`,
      dataset: ds,
      phase: 'change',
      metric: 'wall',
      max: 1.0,
    });
  }
  for (const ds of ALL_DATASETS) {
    specs.push({
      id: `${ds}-nochange-wall`,
      description: `${ds} no-change wall`,
      dataset: ds,
      phase: 'nochange',
      metric: 'wall',
      max: 1.0,
    });
  }
  return specs.map((s) => {
    const find = (c: ContenderName) =>
      rows.find((r) => r.dataset === s.dataset && r.phase === s.phase && r.contender === c);
    const sc = find('scribe');
    const base = find(BASELINE);
    if (!sc || !base) {
      return {
        ...s,
        ratio: null,
        status: 'n/a',
        why: !rows.some((r) => r.dataset === s.dataset)
          ? 'dataset not run'
          : !sc
            ? 'scribe not run'
            : 'baseline not run',
      } as Target;
    }
    const of = (r: Row) => (s.metric === 'wall' ? r.wallSeconds : r.wireBytes);
    const v = ratio(of(sc), of(base));
    const required = find('openssh-required');
    const versusRequired = required?.valid && sc.valid ? ratio(of(sc), of(required)) : null;
    const t = { ...s, ratio: v, versusRequired };
    if (!base.valid) return { ...t, status: 'n/a', why: 'baseline row invalid' } as Target;
    if (!sc.valid) return { ...t, status: 'FAIL', why: 'scribe row invalid' } as Target;
    if (v === null) return { ...t, status: 'n/a', why: 'no ratio' } as Target;
    return { ...t, status: v <= s.max ? 'PASS' : 'FAIL' } as Target;
  });
}

function addRatios(rows: Row[]): void {
  for (const r of rows) {
    const base = rows.find(
      (b) =>
        b.dataset === r.dataset &&
        b.phase === r.phase &&
        b.contender === BASELINE &&
        b.round === r.round,
    );
    if (!base) continue;
    r.ratio = {
      wall: ratio(r.wallSeconds, base.wallSeconds),
      wire: ratio(r.wireBytes, base.wireBytes),
      cpu: ratio(r.cpuSeconds, base.cpuSeconds),
    };
  }
}

/**
 * One row per dataset, phase and contender: each measure the median of its
 * rounds. Valid only if every round was (a failed round is a failure, not
 * an outlier to drop).
 */
function medianRows(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.dataset}/${r.phase}/${r.contender}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Row;
    const bad = group.find((r) => !r.valid);
    const of = (pick: (r: Row) => number | null): number | null =>
      bad ? null : median(group.map((r) => pick(r) as number));
    // The medians get their own ratios; they belong to no round.
    const rest: Row = { ...first };
    delete rest.round;
    delete rest.ratio;
    return {
      ...rest,
      valid: !bad,
      invalidReason: bad ? `round ${bad.round}: ${bad.invalidReason ?? 'invalid'}` : undefined,
      wallSeconds: of((r) => r.wallSeconds),
      wireBytes: of((r) => r.wireBytes),
      cpuClientSeconds: of((r) => r.cpuClientSeconds),
      cpuServerSeconds: of((r) => r.cpuServerSeconds),
      cpuSeconds: of((r) => r.cpuSeconds),
    };
  });
}

function markdown(report: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# Mover benchmark — ${report.finishedAt}`, '');
  lines.push(
    `Scale ${report.config.scale} (SCRIBE_BENCH_SCALE), seed ${report.config.seed}, contenders ${report.config.contenders.join(
      ', ',
    )}, datasets ${report.config.datasets.join(', ')}, ${report.config.rounds} round${
      report.config.rounds === 1 ? '' : 's'
    } (SCRIBE_BENCH_ROUNDS).`,
    '',
  );
  lines.push('## Machine', '');
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| CPUs (nproc) | ${m.nproc} × ${m.cpuModel} |`);
  lines.push(`| Memory | ${m.memoryGiB} GiB |`);
  lines.push(`| Kernel | ${m.kernel} |`);
  lines.push(`| Node | ${m.node} |`);
  lines.push(`| rsync | ${m.rsync} |`);
  lines.push(`| OpenSSH | ${m.openssh} |`);
  lines.push(
    `| OpenSSH negotiated (default config) | ${
      m.sshNegotiated?.cipher
        ? `cipher ${m.sshNegotiated.cipher}, MAC ${m.sshNegotiated.mac}, kex ${m.sshNegotiated.kex ?? '?'}`
        : 'not probed'
    } |`,
  );
  lines.push(`| scribe cryptoPath (send --json) | ${m.scribeCryptoPath ?? 'n/a'} |`);
  lines.push(`| scribe crypto-info | ${m.scribeCryptoInfo ?? 'n/a'} |`);
  lines.push(`| Work dir filesystem | ${m.workFs} |`);
  lines.push(`| CPU accounting | ${report.cpuAccounting.method}: ${report.cpuAccounting.note} |`);
  lines.push(
    `| Page cache dropped before full syncs | ${report.dropCaches ? 'yes' : 'NO (not permitted)'} |`,
  );
  lines.push('');
  lines.push('## Datasets', '');
  lines.push(
    '| dataset | files | dirs | symlinks | MiB | 1% change: files touched | bytes changed (MiB) | % of bytes |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const d of report.datasets) {
    lines.push(
      `| ${d.name} | ${d.files} | ${d.dirs} | ${d.symlinks} | ${fmt(d.bytes / MiB)} | ${d.change?.filesTouched ?? '–'} | ${fmt(
        (d.change?.bytesChanged ?? NaN) / MiB,
        3,
      )} | ${fmt((d.change?.fractionOfBytes ?? NaN) * 100)} |`,
    );
  }
  lines.push('');
  lines.push('## Results', '');
  lines.push(
    'Wire = bytes on the veth pair, both directions (frames incl. headers). CPU = user+sys of client and server side. ' +
      `Ratios are to ${BASELINE} in the same run (lower is better).` +
      (report.config.rounds > 1
        ? ` Each figure is the median of ${report.config.rounds} rounds (the contenders take turns within a round, in an order that rotates from round to round; every round starts from a fresh copy of the dataset); the ratios are between medians. Each round is listed under "Rounds".`
        : ''),
    '',
  );
  lines.push(
    '| dataset | phase | contender | valid | wall s | wire MiB | CPU client s | CPU server s | CPU total s | wall × | wire × | CPU × |',
  );
  lines.push('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.rows) {
    lines.push(
      `| ${r.dataset} | ${r.phase} | ${r.contender} | ${r.valid ? 'yes' : '**NO**'} | ${fmt(r.wallSeconds, 3)} | ${fmt(
        r.wireBytes === null ? null : r.wireBytes / MiB,
        3,
      )} | ${fmt(r.cpuClientSeconds)} | ${fmt(r.cpuServerSeconds)} | ${fmt(r.cpuSeconds)} | ${fmt(r.ratio?.wall)} | ${fmt(
        r.ratio?.wire,
      )} | ${fmt(r.ratio?.cpu)} |`,
    );
  }
  if (report.roundRows) {
    lines.push('', '### Rounds', '');
    lines.push(
      '| dataset | phase | round | contender | valid | wall s | wire MiB | CPU total s | wall × | wire × | CPU × |',
    );
    lines.push('|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|');
    const order = (r: Row) =>
      `${ALL_DATASETS.indexOf(r.dataset)}${PHASES.indexOf(r.phase)}${String(r.round).padStart(3, '0')}${ALL_CONTENDERS.indexOf(r.contender)}`;
    for (const r of [...report.roundRows].sort((a, b) => order(a).localeCompare(order(b)))) {
      lines.push(
        `| ${r.dataset} | ${r.phase} | ${r.round} | ${r.contender} | ${r.valid ? 'yes' : '**NO**'} | ${fmt(r.wallSeconds, 3)} | ${fmt(
          r.wireBytes === null ? null : r.wireBytes / MiB,
          3,
        )} | ${fmt(r.cpuSeconds)} | ${fmt(r.ratio?.wall)} | ${fmt(r.ratio?.wire)} | ${fmt(r.ratio?.cpu)} |`,
      );
    }
  }
  const invalid = (report.roundRows ?? report.rows).filter((r) => !r.valid);
  if (invalid.length > 0) {
    lines.push('', '### Invalid rows', '');
    for (const r of invalid) {
      lines.push(
        `- ${r.dataset}/${r.phase}/${r.contender}${r.round ? ` (round ${r.round})` : ''}: ${(r.invalidReason ?? '').replace(/\n/g, ' ')}`,
      );
      for (const d of r.verifyDiff ?? []) lines.push(`  - \`${d}\``);
    }
  }
  lines.push('', '## Targets (scribe ÷ baseline-openssh)', '');
  lines.push(
    'The last column compares scribe with openssh-required instead: the baseline doing the work the issue requires (when that contender ran).',
    '',
  );
  lines.push('| target | ratio | limit | result | scribe ÷ openssh-required |');
  lines.push('|---|---:|---:|---|---:|');
  for (const t of report.targets) {
    lines.push(
      `| ${t.description} | ${fmt(t.ratio)} | ≤ ${t.max} | ${t.status}${t.why ? ` (${t.why})` : ''} | ${fmt(t.versusRequired ?? null)} |`,
    );
  }
  if (report.notes.length > 0) {
    lines.push('', '## Notes', '');
    for (const n of report.notes) lines.push(`- ${n}`);
  }
  lines.push('');
  return lines.join('\n');
}

interface Report {
  startedAt: string;
  finishedAt: string;
  config: {
    scale: number;
    seed: number;
    rounds: number;
    contenders: string[];
    datasets: string[];
    verify: string;
    phaseTimeoutSec: number;
  };
  machine: {
    nproc: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    node: string;
    rsync: string;
    openssh: string;
    sshNegotiated?: typeof sshProbe;
    sshClientCiphers?: string;
    scribeCryptoPath?: string;
    scribeCryptoInfo?: string;
    workFs: string;
  };
  cpuAccounting: { method: string; note: string };
  dropCaches: boolean;
  datasets: (Omit<DatasetInfo, 'manifest'> & { change?: ChangeInfo })[];
  /** Medians of the rounds when there are several, else the one round's rows. */
  rows: Row[];
  /** Every round's rows, when there are several. */
  roundRows?: Row[];
  targets: Target[];
  notes: string[];
}

async function machineInfo(work: string, dstAddr: string): Promise<Report['machine']> {
  const cpuinfo = await fsp.readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const nproc = Number((await sh(['nproc'])).stdout.trim()) || os.availableParallelism();
  const rsyncV = (await sh(['rsync', '--version'])).stdout.split('\n')[0]?.trim() ?? '?';
  const sshV = (await sh(['ssh', '-V'])).stderr.trim();
  const g = await sh(['ssh', '-G', '-p', String(config.sshPort), `root@${dstAddr}`]);
  const ciphers = /^ciphers (.+)$/m.exec(g.stdout)?.[1];
  const fsType = (await sh(['stat', '-f', '-c', '%T', work])).stdout.trim();
  return {
    nproc,
    cpuModel: model.trim(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.release()} ${os.version()}`,
    node: process.version,
    rsync: rsyncV,
    openssh: sshV,
    ...(ciphers !== undefined ? { sshClientCiphers: ciphers } : {}),
    workFs: fsType,
  };
}

// ---------------------------------------------------------------------------
// main, with cleanup on every exit path

const cgroupsToRemove: string[] = [];
let workDir: string | undefined;
let activeServer: Server | undefined;
let cpuRef: CpuAccounting | undefined;
let cleaningUp: Promise<void> | undefined;

async function cleanup(): Promise<void> {
  if (cleaningUp) return cleaningUp;
  cleaningUp = (async () => {
    for (const c of hostChildren) killTree(c);
    if (activeServer) await activeServer.stop().catch(() => undefined);
    await cleanupAllNetns().catch((e: unknown) => log(`netns cleanup: ${String(e)}`));
    if (cpuRef) await cpuRef.cleanup().catch(() => undefined);
    else for (const cg of cgroupsToRemove) await rmCgroup(cg);
    if (workDir && !config.keep) {
      await fsp
        .rm(workDir, { recursive: true, force: true })
        .catch((e: unknown) => log(`rm ${workDir}: ${String(e)}`));
      try {
        await fsp.rmdir(config.workRoot); // only if empty
      } catch {
        /* not empty or gone */
      }
    } else if (workDir) {
      log(`kept work dir ${workDir}`);
    }
    removePrivsepDirSync();
  })();
  return cleaningUp;
}

function cleanupSync(): void {
  for (const c of hostChildren) killTree(c);
  if (activeServer) killTree(activeServer.child);
  cleanupAllNetnsSync();
  for (const cg of cgroupsToRemove) {
    try {
      fs.rmdirSync(cg);
    } catch {
      /* busy or gone */
    }
  }
  if (workDir && !config.keep) fs.rmSync(workDir, { recursive: true, force: true });
  removePrivsepDirSync();
}

let signals = 0;
let aborted = false;
function checkAbort(): void {
  if (aborted) throw new Error('aborted by signal');
}

function onSignal(sig: NodeJS.Signals): void {
  signals++;
  if (signals > 1) {
    log(`${sig} again: synchronous cleanup and exit`);
    cleanupSync();
    process.exit(130);
  }
  log(`${sig}: stopping and cleaning up (send again to force)`);
  aborted = true;
  // Unblock whatever main() waits for; main() then stops at its next
  // checkAbort() and the top level cleans up.
  for (const c of hostChildren) killTree(c);
  if (activeServer) killTree(activeServer.child);
  void cleanupAllNetns().catch(() => undefined);
  setTimeout(() => {
    log('cleanup took too long: synchronous cleanup and exit');
    cleanupSync();
    process.exit(130);
  }, 60_000).unref();
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Leftovers of runs that were killed outright (SIGKILL): cgroups and work dirs. */
async function sweepStaleRuns(): Promise<void> {
  const mounts = await cgroupMounts();
  for (const mnt of [mounts.v2, mounts.cpuacct]) {
    if (mnt === undefined) continue;
    for (const name of await fsp.readdir(mnt).catch(() => [] as string[])) {
      const m = /^scribe-bench-(\d+)$/.exec(name);
      if (!m || pidAlive(Number(m[1]))) continue;
      const dir = path.join(mnt, name);
      for (const sub of ['server', 'client']) await rmCgroup(path.join(dir, sub));
      await rmCgroup(dir);
      log(`removed stale cgroup ${dir}`);
    }
  }
  const privsep = await fsp.readdir(PRIVSEP).catch(() => undefined);
  if (privsep !== undefined) {
    const marks = privsep.filter((n) => n.startsWith(PRIVSEP_MARK));
    const dead = marks.filter((n) => !pidAlive(Number(n.slice(PRIVSEP_MARK.length))));
    for (const n of dead) await fsp.rm(path.join(PRIVSEP, n), { force: true });
    if (dead.length > 0 && dead.length === privsep.length) {
      await fsp.rmdir(PRIVSEP).catch(() => undefined);
      log(`removed ${PRIVSEP} left by a dead run`);
    }
  }
  for (const name of await fsp.readdir(config.workRoot).catch(() => [] as string[])) {
    const m = /^run-(\d+)-/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    await fsp.rm(path.join(config.workRoot, name), { recursive: true, force: true });
    log(`removed stale work dir ${name}`);
  }
}

async function main(): Promise<number> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  if (process.getuid?.() !== 0)
    throw new Error('the mover benchmark must run as root (network namespaces, cgroups)');
  if (!(await canUseNetns()))
    throw new Error('cannot create network namespaces (`ip netns add` failed)');
  for (const tool of ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen', '/usr/bin/rsync']) {
    if (!fs.existsSync(tool)) throw new Error(`missing ${tool}`);
  }
  if (config.contenders.includes('scribe') && !fs.existsSync(MOVER)) {
    throw new Error(
      `contender scribe selected but ${MOVER} does not exist; ` +
        'run with SCRIBE_BENCH_CONTENDERS=baseline-openssh,rsync-daemon to bench the others',
    );
  }
  const stale = await sweepStaleNetns();
  if (stale.length > 0) log(`removed stale namespaces of dead runs: ${stale.join(', ')}`);
  await sweepStaleRuns();

  const startedAt = new Date().toISOString();
  await fsp.mkdir(config.workRoot, { recursive: true, mode: 0o755 });
  workDir = await fsp.mkdtemp(path.join(config.workRoot, `run-${process.pid}-`));
  await fsp.chmod(workDir, 0o755);
  for (const d of ['sshd', 'rsyncd', 'scribe', 'data'])
    await fsp.mkdir(path.join(workDir, d), { mode: 0o755 });
  log(
    `scale ${config.scale}, contenders ${config.contenders.join(',')}, datasets ${config.datasets.join(
      ',',
    )}, work dir ${workDir}`,
  );

  cpuRef = await setupCpuAccounting();
  log(`CPU accounting: ${cpuRef.method}`);
  const notes: string[] = [];
  if (cpuRef.method === 'proc')
    notes.push(`cgroups unusable, CPU from /usr/bin/time and /proc: ${cpuRef.note}`);

  const pair = await createNetnsPair('bench');
  const keysDir = await makeKeys(workDir, pair.dst.addr, config.contenders.includes('scribe'));
  log(`namespaces ${pair.src.ns} (${pair.src.addr}) <-> ${pair.dst.ns} (${pair.dst.addr})`);

  const machine = await machineInfo(workDir, pair.dst.addr);
  if (config.contenders.includes('scribe')) {
    const ci = await sh([...MOVER_NODE, MOVER, 'crypto-info'], 30_000).catch(() => undefined);
    if (ci?.code === 0) machine.scribeCryptoInfo = ci.stdout.trim();
  }
  const rows: Row[] = [];
  const datasets: Report['datasets'] = [];

  for (const ds of config.datasets) {
    checkAbort();
    const dsDir = path.join(workDir, 'data', ds);
    const pristine = path.join(dsDir, 'pristine');
    log(`generating dataset ${ds}`);
    const info = await generateDataset(ds, pristine);
    log(
      `dataset ${ds}: ${info.files} files, ${fmt(info.bytes / MiB)} MiB in ${fmt(info.generateSeconds, 1)} s`,
    );
    const dsRecord: Report['datasets'][number] = {
      name: info.name,
      files: info.files,
      bytes: info.bytes,
      dirs: info.dirs,
      symlinks: info.symlinks,
      generateSeconds: info.generateSeconds,
    };
    datasets.push(dsRecord);

    // Rounds: the contenders take turns within each, so slow drift of the
    // machine reaches all of them alike, and the order rotates from round to
    // round, so that none always runs right after another's trees were
    // deleted (on a filesystem without a journal, ext4 then skips the
    // recently freed inodes on every create: see "Fairness notes").
    for (let round = 1; round <= config.rounds; round++)
      for (const name of rotated(config.contenders, round - 1)) {
        checkAbort();
        const c = contenders[name];
        const tag = config.rounds > 1 ? ` (round ${round})` : '';
        const ctx: Ctx = {
          pair,
          cpu: cpuRef,
          work: workDir,
          keysDir,
          dataset: ds,
          src: path.join(dsDir, 'src'),
          dst: path.join(dsDir, 'dst'),
        };
        // Identical starting state for every contender.
        await fsp.rm(ctx.src, { recursive: true, force: true });
        await fsp.rm(ctx.dst, { recursive: true, force: true });
        await shOk(['cp', '-a', pristine, ctx.src], Math.max(120_000, 1_200_000 * config.scale));
        await fsp.mkdir(ctx.dst, { mode: 0o755 });

        let server: Server | undefined;
        try {
          log(`${ds}/${name}: starting server${tag}`);
          server = await c.start(ctx);
          activeServer = server;
          if (name === BASELINE && sshProbe === undefined) {
            await probeSsh(ctx);
            machine.sshNegotiated = sshProbe;
            log(`OpenSSH negotiated: ${JSON.stringify(sshProbe)}`);
          }
          const idle = await nsPidCount(pair);
          for (const phase of PHASES) {
            checkAbort();
            let change: ChangeInfo | undefined;
            if (phase === 'change') {
              change = await applyChange(ctx.src, info);
              dsRecord.change = change;
            }
            const row = await runPhase(ctx, c, phase, server, idle);
            if (config.rounds > 1) row.round = round;
            if (change) row.change = change;
            if (row.scribe?.cryptoPath !== undefined || row.scribe?.crypto !== undefined) {
              const cp = row.scribe.cryptoPath ?? row.scribe.crypto;
              machine.scribeCryptoPath = typeof cp === 'string' ? cp : JSON.stringify(cp);
            }
            rows.push(row);
          }
        } catch (err) {
          if (aborted) throw err;
          const msg = (err as Error).message;
          log(`${ds}/${name}: FAILED${tag}: ${msg}`);
          const thisRound = config.rounds > 1 ? round : undefined;
          for (const phase of PHASES) {
            const has = rows.some(
              (r) =>
                r.dataset === ds &&
                r.phase === phase &&
                r.contender === name &&
                r.round === thisRound,
            );
            if (!has) rows.push({ ...invalidRow(ds, phase, name, msg), round: thisRound });
          }
        } finally {
          if (server) await server.stop();
          activeServer = undefined;
        }
      }
    // Free the space before the next dataset.
    await fsp.rm(dsDir, { recursive: true, force: true });
  }

  checkAbort();
  addRatios(rows);
  const summary = config.rounds > 1 ? medianRows(rows) : rows;
  if (config.rounds > 1) addRatios(summary);
  const targets = computeTargets(summary);
  if (!config.contenders.includes(BASELINE))
    notes.push(`${BASELINE} not run: no ratios, targets n/a`);
  if (dropCachesWorks === false) notes.push('page cache could NOT be dropped before full syncs');
  notes.push(
    `verification after every phase: rsync -aAHSXn --delete --itemize-changes${
      config.verify === 'checksum' ? ' --checksum' : ''
    } SRC/ DST/ must print nothing`,
  );
  if (config.contenders.includes('scribe')) {
    notes.push(
      "for scribe the receiver's own /.scribe/ directory is excluded from the verification",
    );
  }
  if (bashrcHidden) {
    notes.push(
      `sshd saw an empty ${bashrcHidden} (bind mount in its own mount namespace): the machine's one is not ` +
        'what a mover container has and costs CPU on every ssh session; SCRIBE_BENCH_SSH_BASHRC=1 keeps it',
    );
  }
  if (config.scale !== 1)
    notes.push(`scaled run (SCRIBE_BENCH_SCALE=${config.scale}): not the reference benchmark`);
  const report: Report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    config: {
      scale: config.scale,
      seed: config.seed,
      rounds: config.rounds,
      contenders: config.contenders,
      datasets: config.datasets,
      verify: config.verify,
      phaseTimeoutSec: config.phaseTimeoutSec,
    },
    machine,
    cpuAccounting: { method: cpuRef.method, note: cpuRef.note },
    dropCaches: dropCachesWorks === true,
    datasets,
    rows: summary,
    roundRows: config.rounds > 1 ? rows : undefined,
    targets,
    notes,
  };
  await fsp.mkdir(config.outDir, { recursive: true });
  await fsp.writeFile(
    path.join(config.outDir, 'latest.json'),
    JSON.stringify(report, null, 2) + '\n',
  );
  const md = markdown(report);
  await fsp.writeFile(path.join(config.outDir, 'latest.md'), md);
  process.stdout.write(md);
  log(`wrote ${path.join(config.outDir, 'latest.json')} and latest.md`);
  return rows.every((r) => r.valid) ? 0 : 1;
}

let exitCode: number;
try {
  exitCode = await main();
} catch (err) {
  log(aborted ? 'aborted' : `error: ${(err as Error).stack ?? String(err)}`);
  exitCode = 2;
} finally {
  await cleanup();
}
process.exit(aborted ? 130 : exitCode);
