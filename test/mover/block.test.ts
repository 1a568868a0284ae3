import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseLoopDevices } from '../support/loopfs.ts';
import { sha256Of } from '../support/device-io.ts';
import { keygen, moverBin, runSend, startReceiver, type MoverKeys } from '../support/mover.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const size = 64 * MiB;
const blockSize = 64 * 1024;
const pieceSize = 4 * 1024;

let work: string;
let keys: MoverKeys;
const loops: string[] = [];

async function image(name: string, bytes: number, random: boolean): Promise<string> {
  const path = join(work, name);
  if (random) await writeFile(path, randomBytes(bytes));
  else {
    await writeFile(path, '');
    await truncate(path, bytes);
  }
  return path;
}

const useLoops = await canUseLoopDevices();

async function attach(path: string): Promise<string> {
  const { stdout } = await run('losetup', ['--find', '--show', path]);
  const dev = stdout.trim();
  loops.push(dev);
  // A loop device number reused from an earlier test can serve that test's
  // cached pages; drop them so reads see this image.
  await run('blockdev', ['--flushbufs', dev]);
  // The kernel can report a new loop device's capacity a moment after
  // losetup returns (a CI run once saw 0 bytes); wait, bounded, for it.
  const want = (await stat(path)).size;
  for (let i = 0; i < 50; i++) {
    const { stdout: bytes } = await run('blockdev', ['--getsize64', dev]);
    if (Number(bytes.trim()) === want) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return dev;
}

async function device(path: string): Promise<string> {
  return useLoops ? attach(path) : path; // an image file is a Block volume too
}

/** `send --progress` as a process of its own, for tests that stop or kill it mid-transfer. */
function spawnSend(src: string, to: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const argv = [moverBin, 'send', '--volume', src, '--to', to, '--key', keys.client];
  argv.push('--known-host-key', keys.hostPub, '--progress', ...extra);
  return spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...env },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-block-'));
  keys = await keygen(join(work, 'keys'));
  if (!useLoops) console.warn('block tests use image files: loop devices need root');
});

afterAll(async () => {
  for (const dev of loops) await run('losetup', ['-d', dev]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe(`block volumes (${useLoops ? 'loop devices' : 'image files'})`, () => {
  it('copies the device, then sends only the blocks that changed', async () => {
    const src = await device(await image('src.img', size, true));
    const dst = await device(await image('dst.img', size + 4 * MiB, false));
    expect(dst).not.toBe(src);
    const receiver = await startReceiver({ volume: dst, keys, stateDir: join(work, 'state') });
    try {
      const first = await runSend({ volume: src, to: receiver.address, keys });
      expect(first.code, first.stderr).toBe(0);
      const problems = (r: { stderr: string }) =>
        r.stderr
          .split('\n')
          .filter((l) => /"level":(40|50)/.test(l))
          .join('\n');
      expect(first.summary?.dataBytes, problems(first)).toBe(size);
      expect(await sha256Of(dst, size)).toBe(await sha256Of(src, size));
      const marker = JSON.parse(await readFile(join(work, 'state', 'complete.json'), 'utf8'));
      expect(marker).toMatchObject({ mode: 'block' });

      // Scattered small writes touching 1% of the blocks, each inside one 4 KiB piece.
      const fh = await open(src, 'r+');
      const touched = new Set<number>();
      for (let i = 0; i < size / blockSize / 100; i++) {
        const block = (i * 97 + 13) % (size / blockSize);
        touched.add(block);
        await fh.write(randomBytes(512), 0, 512, block * blockSize + 1000);
      }
      // One write across a piece boundary: both pieces go.
      await fh.write(randomBytes(512), 0, 512, 7 * blockSize + pieceSize - 100);
      await fh.sync();
      await fh.close();

      const second = await runSend({ volume: src, to: receiver.address, keys });
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary?.dataBytes).toBe(touched.size * pieceSize + 2 * pieceSize);
      // The hashes of every block plus the narrowed pieces: far below whole blocks.
      expect(second.summary?.wireBytes).toBeLessThan((touched.size + 1) * blockSize);
      expect(await sha256Of(dst, size)).toBe(await sha256Of(src, size));

      const third = await runSend({ volume: src, to: receiver.address, keys });
      expect(third.summary?.dataBytes).toBe(0);
    } finally {
      await receiver.stop();
    }
  });

  it('sends whole blocks when the piece size is the block size', async () => {
    const src = await device(await image('whole-src.img', 8 * MiB, true));
    const dst = await device(await image('whole-dst.img', 8 * MiB, false));
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const extraArgs = ['--piece-size', String(blockSize)];
      const first = await runSend({ volume: src, to: receiver.address, keys, extraArgs });
      expect(first.code, first.stderr).toBe(0);
      const fh = await open(src, 'r+');
      for (const block of [3, 40, 99]) await fh.write(randomBytes(100), 0, 100, block * blockSize);
      await fh.close();
      const second = await runSend({ volume: src, to: receiver.address, keys, extraArgs });
      expect(second.summary?.dataBytes).toBe(3 * blockSize);
      expect(await sha256Of(dst, 8 * MiB)).toBe(await sha256Of(src, 8 * MiB));
    } finally {
      await receiver.stop();
    }
  });

  it('sends only the pieces that are not zeros to a zeroed destination', async () => {
    // A thin volume: a few pages of data in 32 MiB of zeros.
    const srcPath = await image('thin-src.img', 32 * MiB, false);
    const fh = await open(srcPath, 'r+');
    const offsets = [0, 5 * MiB + 4096 * 3, 31 * MiB + 100];
    for (const at of offsets) await fh.write(randomBytes(1000), 0, 1000, at);
    await fh.close();
    const src = await device(srcPath);
    const dst = await device(await image('thin-dst.img', 32 * MiB, false));
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const first = await runSend({ volume: src, to: receiver.address, keys });
      expect(first.code, first.stderr).toBe(0);
      expect(first.summary?.dataBytes).toBe(offsets.length * pieceSize);
      expect(await sha256Of(dst, 32 * MiB)).toBe(await sha256Of(src, 32 * MiB));
    } finally {
      await receiver.stop();
    }
  });

  it('compresses block data that shrinks, and not with --compress never', async () => {
    // Half text (compressible), half random.
    const text = Buffer.from('2026-12-07 INFO order 1234 shipped to warehouse 7\n'.repeat(200_000));
    const data = Buffer.concat([text.subarray(0, 8 * MiB), randomBytes(8 * MiB)]);
    const srcPath = join(work, 'text-src.img');
    await writeFile(srcPath, data);
    const src = await device(srcPath);
    for (const [compress, expected] of [
      ['auto', 'zstd'],
      ['never', 'none'],
    ] as const) {
      const dst = await device(await image(`text-dst-${compress}.img`, 16 * MiB, false));
      const receiver = await startReceiver({ volume: dst, keys });
      try {
        const r = await runSend({
          volume: src,
          to: receiver.address,
          keys,
          extraArgs: ['--compress', compress],
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.summary?.compression).toBe(expected);
        expect(r.summary?.dataBytes).toBe(16 * MiB);
        if (compress === 'auto') expect(r.summary!.wireBytes).toBeLessThan(9 * MiB);
        else expect(r.summary!.wireBytes).toBeGreaterThan(16 * MiB);
        expect(await sha256Of(dst, 16 * MiB)).toBe(await sha256Of(src, 16 * MiB));
      } finally {
        await receiver.stop();
      }
    }
  });

  it('refuses a piece size that does not divide the block size', async () => {
    const r = await runSend({
      volume: join(work, 'src.img'),
      to: '127.0.0.1:1',
      keys,
      extraArgs: ['--piece-size', '3000'],
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--piece-size 3000 does not divide the block size 65536/);
  });

  it('reports progress; a killed sender leaves the last marker, and the next run completes', async () => {
    const bytes = 256 * MiB;
    const src = await device(await image('kill-src.img', bytes, true));
    const dst = await device(await image('kill-dst.img', bytes, false));
    const stateDir = join(work, 'kill-state');
    const receiver = await startReceiver({ volume: dst, keys, stateDir });
    try {
      // A complete sync, then the whole volume changes.
      const small = await runSend({ volume: src, to: receiver.address, keys });
      expect(small.code, small.stderr).toBe(0);
      const markerBefore = await readFile(join(stateDir, 'complete.json'), 'utf8');
      const fh = await open(src, 'r+');
      for (let at = 0; at < bytes; at += 16 * MiB)
        await fh.write(randomBytes(16 * MiB), 0, 16 * MiB, at);
      await fh.sync();
      await fh.close();

      const child = spawnSend(src, receiver.address, ['--json']);
      const progress: Array<{ bytes: number; percent: number; rate: string; sent: number }> = [];
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.startsWith('{"type":"progress"'))) {
          const p = JSON.parse(line) as (typeof progress)[number];
          progress.push(p);
          // The first line comes with the first block: 256 MiB can be done by
          // the next one, a quarter second later.
          child.kill('SIGKILL');
        }
      });
      const [, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      expect(signal).toBe('SIGKILL');
      const last = progress.at(-1)!;
      expect(last.percent).toBeLessThan(100);
      expect(last.bytes).toBeGreaterThan(0);
      expect(typeof last.sent).toBe('number');
      expect(last.rate).toMatch(/^\d+\.\d\dMB\/s$/);
      // The last complete sync still stands.
      expect(await readFile(join(stateDir, 'complete.json'), 'utf8')).toBe(markerBefore);
      // The receiver ends the dead transfer when its connection closes (ssh2
      // alone can leave it waiting to write for good, and the next run with it).
      const resumed = await runSend({ volume: src, to: receiver.address, keys });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(await sha256Of(dst, bytes)).toBe(await sha256Of(src, bytes));
      expect(await readFile(join(stateDir, 'complete.json'), 'utf8')).not.toBe(markerBefore);
    } finally {
      await receiver.stop();
    }
  });

  it('a new attempt stops one whose sender went silent at once, not after SSH keepalives', async () => {
    const bytes = 128 * MiB;
    const src = await device(await image('stall-src.img', bytes, true));
    const dst = await device(await image('stall-dst.img', bytes, false));
    const receiver = await startReceiver({ volume: dst, keys });
    const stalled = spawnSend(src, receiver.address);
    const closed = once(stalled, 'close');
    try {
      // Stopped mid-transfer: its connection stays open but says nothing, as
      // behind a link that drops every packet.
      await new Promise<void>((resolve) => {
        stalled.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          if (/"percent":([1-9]\d)/.test(chunk) && stalled.kill('SIGSTOP')) resolve();
        });
      });
      // The receiver's keepalives would end the silent transfer after 30 s or
      // more; a new attempt must not wait for that.
      const next = await runSend({ volume: src, to: receiver.address, keys, timeoutMs: 20_000 });
      expect(next.timedOut).toBe(false);
      expect(next.code, next.stderr).toBe(0);
      expect(await sha256Of(dst, bytes)).toBe(await sha256Of(src, bytes));
      expect(receiver.logs().map((l) => l.msg)).toContain(
        'stopping an earlier transfer for a new attempt',
      );
    } finally {
      stalled.kill('SIGKILL');
      await closed;
      await receiver.stop();
    }
  });

  it('a sender whose receiver goes silent says the link was lost, after its keepalives', async () => {
    const bytes = 128 * MiB;
    const src = await device(await image('silent-src.img', bytes, true));
    const dst = await device(await image('silent-dst.img', bytes, false));
    const receiver = await startReceiver({ volume: dst, keys });
    const sender = spawnSend(src, receiver.address, ['--json', '--retries', '0'], {
      SCRIBE_KEEPALIVE_MS: '500',
    });
    let out = '';
    let stopped = false;
    sender.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!stopped && out.includes('"type":"progress"')) {
        stopped = true;
        process.kill(receiver.pid, 'SIGSTOP');
      }
    });
    try {
      const [code] = (await once(sender, 'close')) as [number | null];
      expect(stopped).toBe(true);
      expect(code).toBe(1);
      const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { error: string };
      expect(summary.error).toMatch(
        /^lost the connection to 127\.0\.0\.1:\d+ in the middle of the transfer: Keepalive timeout/,
      );
    } finally {
      process.kill(receiver.pid, 'SIGCONT');
      await receiver.stop();
    }
  });

  it('refuses a destination smaller than the source, clearly and without retrying', async () => {
    const src = await device(await image('big.img', 8 * MiB, true));
    const dst = await device(await image('small.img', 4 * MiB, false));
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const r = await runSend({ volume: src, to: receiver.address, keys });
      expect(r.code).toBe(1);
      expect(r.summary?.attempts).toBe(1);
      expect(r.summary?.error).toMatch(
        /destination volume is smaller than the source \(4194304 < 8388608 bytes\)/,
      );
    } finally {
      await receiver.stop();
    }
  });
});
