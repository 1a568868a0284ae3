// Block-volume benchmark: the mover's block delta (4 KiB pieces, zstd where it
// pays) against the same mover sending whole 64 KiB blocks uncompressed
// (`--piece-size 65536 --compress never`, the protocol before both), over
// loopback, on image files. rsync's own delta
// over a pipe (no SSH) is listed for reference. See README.md beside this file.
//
//   npm run bench:block
//   SCRIBE_BENCH_SIZE_MIB=256 SCRIBE_BENCH_ROUNDS=1 npm run bench:block
//
// Needs rsync; drops the page cache before full syncs when run as root.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from '../median.ts';
import { sha256Of } from '../../test/support/device-io.ts';
import { keygen, runSend, startReceiver, type MoverKeys } from '../../test/support/mover.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const KiB = 1024;

const config = {
  sizeMiB: Number(process.env.SCRIBE_BENCH_SIZE_MIB ?? 1024),
  rounds: Number(process.env.SCRIBE_BENCH_ROUNDS ?? 3),
  out: process.env.SCRIBE_BENCH_OUT ?? path.join(HERE, 'results'),
  seed: 1,
};
const size = config.sizeMiB * MiB;
const blockSize = 64 * KiB;
const page = 4 * KiB;

const CONTENDERS = ['whole-blocks', 'scribe', 'rsync-pipe'] as const;
type Contender = (typeof CONTENDERS)[number];
const BASELINE: Contender = 'whole-blocks';
/** The block protocol before this benchmark's changes: whole 64 KiB blocks, nothing compressed. */
const wholeBlocksArgs = ['--piece-size', String(blockSize), '--compress', 'never'];
const PHASES = ['full', 'nochange', 'change'] as const;
type Phase = (typeof PHASES)[number];

interface Row {
  round: number;
  contender: Contender;
  phase: Phase;
  wallSeconds: number;
  wireBytes: number;
  dataBytes: number;
}

function log(msg: string): void {
  process.stderr.write(`[bench:block] ${msg}\n`);
}

/** mulberry32: deterministic offsets for the change. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Log-like text: what compresses, as a database's or an application's own files do. */
function textChunk(next: () => number, bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  while (length < bytes) {
    const n = Math.floor(next() * 1e6);
    const line = `2026-12-07T08:${String(n % 60).padStart(2, '0')}:00.${n % 1000}Z INFO request id=${n} path=/api/v1/items/${n % 977} status=${n % 17 ? 200 : 404} ms=${n % 83}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/**
 * A volume in use: half incompressible data, a quarter compressible text, a
 * quarter never written (zeros).
 */
async function makeVolume(file: string): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    const chunk = Buffer.allocUnsafe(4 * MiB);
    const next = rng(config.seed);
    for (let at = 0; at < size / 2; at += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((next() * 2 ** 32) >>> 0, i);
      await fh.write(chunk, 0, chunk.length, at);
    }
    for (let at = size / 2; at < (size * 3) / 4; at += chunk.length) {
      const text = textChunk(next, chunk.length);
      await fh.write(text, 0, text.length, at);
    }
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

/** 1% of the volume in page-sized writes at page-aligned, seeded offsets: what a database does. */
async function applyChange(file: string): Promise<number> {
  const next = rng(config.seed + 1);
  const pages = size / page;
  const writes = Math.ceil((size * 0.01) / page);
  const fh = await fs.open(file, 'r+');
  const data = Buffer.allocUnsafe(page);
  try {
    for (let i = 0; i < writes; i++) {
      for (let j = 0; j < page; j += 4) data.writeUInt32LE((next() * 2 ** 32) >>> 0, j);
      await fh.write(data, 0, page, Math.floor(next() * pages) * page);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return writes;
}

async function dropCaches(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  await run(['sync']);
  await fs.writeFile('/proc/sys/vm/drop_caches', '3').catch(() => undefined);
  return true;
}

/** rsync's delta on the image, over a pipe: `rsh` drops the host and runs the server. */
async function rsyncPipe(work: string, src: string, dst: string) {
  const rsh = path.join(work, 'pipe-rsh');
  await fs.writeFile(rsh, '#!/bin/sh\nshift\nexec "$@"\n', { mode: 0o755 });
  const t = performance.now();
  const r = await run([
    'rsync',
    '--inplace',
    '--no-whole-file',
    '--ignore-times',
    '-z',
    '--stats',
    '-e',
    rsh,
    src,
    `pipe:${dst}`,
  ]);
  const wallSeconds = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`rsync failed: ${r.stderr}`);
  const num = (re: RegExp) => Number((r.stdout.match(re)?.[1] ?? '0').replace(/,/g, ''));
  return {
    wallSeconds,
    wireBytes: num(/Total bytes sent: ([\d,]+)/) + num(/Total bytes received: ([\d,]+)/),
    dataBytes: num(/Literal data: ([\d,]+)/),
  };
}

async function scribeSend(keys: MoverKeys, address: string, src: string, extraArgs: string[]) {
  const t = performance.now();
  const r = await runSend({ volume: src, to: address, keys, extraArgs, timeoutMs: 600_000 });
  const wallSeconds = (performance.now() - t) / 1000;
  if (r.code !== 0 || !r.summary) throw new Error(`send failed: ${r.summary?.error ?? r.stderr}`);
  return { wallSeconds, wireBytes: r.summary.wireBytes, dataBytes: r.summary.dataBytes };
}

async function runContender(
  work: string,
  keys: MoverKeys,
  base: string,
  contender: Contender,
  round: number,
): Promise<Row[]> {
  const src = path.join(work, `${contender}-src.img`);
  const dst = path.join(work, `${contender}-dst.img`);
  await run(['cp', '--sparse=always', base, src]);
  await fs.writeFile(dst, '');
  await fs.truncate(dst, size);
  const rows: Row[] = [];
  const receiver =
    contender === 'rsync-pipe'
      ? undefined
      : await startReceiver({ volume: dst, keys, stateDir: path.join(work, `${contender}-state`) });
  try {
    for (const phase of PHASES) {
      if (phase === 'full') await dropCaches();
      if (phase === 'change') await applyChange(src);
      const m = receiver
        ? await scribeSend(
            keys,
            receiver.address,
            src,
            contender === 'whole-blocks' ? wholeBlocksArgs : [],
          )
        : await rsyncPipe(work, src, dst);
      if ((await sha256Of(src, size)) !== (await sha256Of(dst, size))) {
        throw new Error(`${contender} ${phase}: the destination differs from the source`);
      }
      rows.push({ round, contender, phase, ...m });
      log(
        `round ${round} ${contender} ${phase}: ${m.wallSeconds.toFixed(3)} s, wire ${(m.wireBytes / MiB).toFixed(2)} MiB`,
      );
    }
  } finally {
    await receiver?.stop();
    await fs.rm(src, { force: true });
    await fs.rm(dst, { force: true });
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    '| phase | contender | wall s | wire MiB | data MiB | wall × | wire × |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const phase of PHASES) {
    const med = (c: Contender, k: 'wallSeconds' | 'wireBytes' | 'dataBytes') =>
      median(rows.filter((r) => r.contender === c && r.phase === phase).map((r) => r[k]));
    for (const c of CONTENDERS) {
      const wall = med(c, 'wallSeconds');
      const wire = med(c, 'wireBytes');
      lines.push(
        `| ${phase} | ${c} | ${wall.toFixed(3)} | ${(wire / MiB).toFixed(2)} | ${(med(c, 'dataBytes') / MiB).toFixed(2)} | ${(
          wall / med(BASELINE, 'wallSeconds')
        ).toFixed(2)} | ${(wire / med(BASELINE, 'wireBytes')).toFixed(2)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'scribe-bench-block-'));
  const rows: Row[] = [];
  try {
    const keys = await keygen(path.join(work, 'keys'));
    const base = path.join(work, 'base.img');
    log(`volume of ${config.sizeMiB} MiB, ${config.rounds} rounds, work dir ${work}`);
    await makeVolume(base);
    for (let round = 1; round <= config.rounds; round++) {
      // The order rotates so no contender always runs first on a cold machine.
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round - 1) % CONTENDERS.length]!);
      for (const c of order) rows.push(...(await runContender(work, keys, base, c, round)));
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  const rsync = (await run(['rsync', '--version'])).stdout.split('\n')[0];
  const md = [
    `# Block-volume benchmark — ${new Date().toISOString()}`,
    '',
    `A ${config.sizeMiB} MiB image file (half incompressible data, a quarter log-like text, a quarter never written), ` +
      `synced over loopback into a zeroed image: full sync, no-change resync, and a resync after 1% of the volume ` +
      `changed in page-sized (4 KiB), page-aligned writes at seeded offsets. ${config.rounds} rounds; each figure is ` +
      'the median; ratios are to `whole-blocks` in the same run.',
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${rsync}.`,
    '',
    '- `scribe`: `scribe-mover send` as shipped: 64 KiB blocks narrowed to 4 KiB pieces, zstd where a frame shrinks.',
    '- `whole-blocks` (the baseline): the same mover with `--piece-size 65536 --compress never`: whole 64 KiB blocks, uncompressed, as the block protocol sent them before pieces and compression.',
    "- `rsync-pipe` (reference): rsync's delta on the image (`--inplace --no-whole-file --ignore-times -z`: always compared, as a device has no mtime to trust) over a pipe, no SSH; its wire is rsync's own count of its stream, without the SSH framing the other two carry.",
    '',
    "Wire = bytes on the TCP connection, both directions (the mover's own count); data = block data sent.",
    '',
    table(rows),
    '',
    '## Rounds',
    '',
    '| round | contender | phase | wall s | wire MiB |',
    '|---:|---|---|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.round} | ${r.contender} | ${r.phase} | ${r.wallSeconds.toFixed(3)} | ${(r.wireBytes / MiB).toFixed(2)} |`,
    ),
    '',
  ].join('\n');
  await fs.mkdir(config.out, { recursive: true });
  await fs.writeFile(path.join(config.out, 'latest.md'), md);
  await fs.writeFile(
    path.join(config.out, 'latest.json'),
    `${JSON.stringify({ config, rows }, null, 2)}\n`,
  );
  process.stdout.write(`${md}\n`);
}

await main();
