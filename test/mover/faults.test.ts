import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../support/loopfs.ts';
import { canUseNetns, createNetnsPair, type NetnsPair } from '../support/netns.ts';
import {
  keygen,
  moverBin,
  runSend,
  startReceiver,
  type MoverKeys,
  type Receiver,
} from '../support/mover.ts';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;
const bigSize = 384 * MiB;

let work: string;
let keys: MoverKeys;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeRandom(path: string, bytes: number): Promise<void> {
  const chunk = 16 * MiB;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes; at += chunk) parts.push(randomBytes(Math.min(chunk, bytes - at)));
  await writeFile(path, Buffer.concat(parts));
}

/**
 * Starts `send --progress --json` (optionally in a namespace) and calls
 * `atPercent` once the transfer has passed that share of the bytes.
 */
function sendWatching(opts: {
  volume: string;
  to: string;
  percent: number;
  onPercent: (pid: number) => void | Promise<void>;
  argvPrefix?: string[];
  env?: NodeJS.ProcessEnv;
  extra?: string[];
  /**
   * Also fire once rsync's temporary file for big.bin in this destination
   * directory holds half of it: on a fast, idle machine the whole file can
   * arrive before rsync's first progress line (about a second in).
   */
  watchDestination?: string;
}): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}> {
  const argv = [
    ...(opts.argvPrefix ?? []),
    process.execPath,
    moverBin,
    'send',
    '--volume',
    opts.volume,
    '--to',
    opts.to,
    '--key',
    keys.client,
    '--known-host-key',
    keys.hostPub,
    '--progress',
    '--json',
    ...(opts.extra ?? []),
  ];
  const child = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  let fired = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (fired) return;
    for (const line of s.split('\n')) {
      if (!line.startsWith('{"type":"progress"')) continue;
      const p = JSON.parse(line) as { percent: number };
      if (p.percent >= opts.percent && !fired) {
        fired = true;
        void opts.onPercent(child.pid!);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 240_000);
  let watching = opts.watchDestination !== undefined;
  const watch = async () => {
    while (watching && !fired) {
      const names = await readdir(opts.watchDestination!).catch(() => [] as string[]);
      for (const n of names.filter((x) => x.startsWith('.big.bin.'))) {
        const size = await stat(join(opts.watchDestination!, n)).then(
          (st) => st.size,
          () => 0,
        );
        if (size >= bigSize / 2 && !fired) {
          fired = true;
          void opts.onPercent(child.pid!);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  void watch();
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      watching = false;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

function summaryOf(stdout: string) {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('"result"'));
  return line
    ? (JSON.parse(line) as { result: string; attempts: number; dataBytes: number; error?: string })
    : undefined;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-faults-'));
  keys = await keygen(join(work, 'keys'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a link that refuses', () => {
  it('retries with backoff, then says clearly what failed', async () => {
    const src = join(work, 'refused');
    await mkdir(src);
    const r = await runSend({
      volume: src,
      to: '127.0.0.1:1',
      keys,
      extraArgs: ['--retries', '2'],
      env: { SCRIBE_BACKOFF_BASE_MS: '50' },
    });
    expect(r.code).toBe(1);
    expect(r.summary?.attempts).toBe(3);
    expect(r.summary?.error).toMatch(
      /cannot connect to 127\.0\.0\.1:1: connect ECONNREFUSED.*gave up after 3 attempts/,
    );
  });
});

describe('a killed sender', () => {
  let receiver: Receiver;
  const src = () => join(work, 'kill-src');
  const dst = () => join(work, 'kill-dst');

  beforeAll(async () => {
    await mkdir(src());
    await mkdir(dst());
    await writeFile(join(src(), 'first'), 'complete before the crash');
    receiver = await startReceiver({ volume: dst(), keys });
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('leaves the last complete marker alone and resumes the large file on the next run', async () => {
    const first = await runSend({ volume: src(), to: receiver.address, keys });
    expect(first.code, first.stderr).toBe(0);
    const markerBefore = await readFile(join(dst(), '.scribe', 'complete.json'), 'utf8');

    await writeRandom(join(src(), 'big.bin'), bigSize);
    const senderTmp = join(work, 'killed-sender-tmp');
    await mkdir(senderTmp);
    const killed = await sendWatching({
      volume: src(),
      to: receiver.address,
      percent: 1, // the first progress line: rsync updates about once a second
      extra: ['--compress', 'never'],
      env: { TMPDIR: senderTmp },
      watchDestination: dst(),
      onPercent: (pid) => {
        process.kill(-pid, 'SIGKILL');
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    // No work dir of the sender's is left in /tmp (Node.js's compile cache is meant to stay).
    expect((await readdir(senderTmp)).filter((n) => n !== 'node-compile-cache')).toEqual([]);
    expect(await readFile(join(dst(), '.scribe', 'complete.json'), 'utf8')).toBe(markerBefore);
    // The receiver keeps what arrived, for the next run to build on.
    await expect
      .poll(() => readdir(join(dst(), '.scribe', 'partial')).catch(() => []), { timeout: 30_000 })
      .toContain('big.bin');

    const resumed = await runSend({
      volume: src(),
      to: receiver.address,
      keys,
      extraArgs: ['--compress', 'never'],
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.summary!.dataBytes).toBeLessThan(bigSize * 0.75);
    expect(await sha256File(join(dst(), 'big.bin'))).toBe(await sha256File(join(src(), 'big.bin')));
    expect(await readFile(join(dst(), '.scribe', 'complete.json'), 'utf8')).not.toBe(markerBefore);
  });
});

describe('a sender told to stop (SIGTERM, as when its pod is deleted)', () => {
  it('stops rsync, commits nothing, says so in its summary, and the next run resumes', async () => {
    const src = join(work, 'term-src');
    const dst = join(work, 'term-dst');
    await mkdir(src);
    await mkdir(dst);
    await writeRandom(join(src, 'big.bin'), bigSize);
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      let rsyncPid: number | undefined;
      const stopped = await sendWatching({
        volume: src,
        to: receiver.address,
        percent: 1,
        extra: ['--compress', 'never'],
        watchDestination: dst,
        onPercent: async (pid) => {
          const { stdout } = await execFileP('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)]);
          rsyncPid = Number(/(\d+)\s+rsync/.exec(stdout)?.[1]);
          process.kill(pid, 'SIGTERM');
        },
      });
      expect(stopped.code, stopped.stderr).toBe(143);
      const summary = summaryOf(stopped.stdout);
      expect(summary?.result).toBe('failed');
      expect(summary?.error).toBe(
        'interrupted by SIGTERM: this sync is not recorded as complete; the last complete sync stands, and the next run resumes where this one stopped',
      );
      expect(summary?.attempts).toBe(1);
      // The sender's rsync was stopped, not left running.
      expect(rsyncPid).toBeGreaterThan(0);
      expect(() => process.kill(rsyncPid!, 0)).toThrow();
      expect(await readdir(join(dst, '.scribe')).catch(() => [])).not.toContain('complete.json');
      await expect
        .poll(() => readdir(join(dst, '.scribe', 'partial')).catch(() => []), { timeout: 30_000 })
        .toContain('big.bin');

      const resumed = await runSend({
        volume: src,
        to: receiver.address,
        keys,
        extraArgs: ['--compress', 'never'],
      });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.summary!.dataBytes).toBeLessThan(bigSize * 0.75);
      expect(await sha256File(join(dst, 'big.bin'))).toBe(await sha256File(join(src, 'big.bin')));
    } finally {
      await receiver.stop();
    }
  });
});

describe('a killed receiver', () => {
  it('loses nothing that was complete; a new receiver finishes the sync', async () => {
    const src = join(work, 'rkill-src');
    const dst = join(work, 'rkill-dst');
    await mkdir(src);
    await mkdir(dst);
    await writeFile(join(src, 'first'), 'complete before the crash');
    let receiver = await startReceiver({ volume: dst, keys });
    try {
      expect((await runSend({ volume: src, to: receiver.address, keys })).code).toBe(0);
      const markerBefore = await readFile(join(dst, '.scribe', 'complete.json'), 'utf8');
      await writeRandom(join(src, 'big.bin'), bigSize);
      const doomed = receiver;
      const cut = await sendWatching({
        volume: src,
        to: receiver.address,
        percent: 1, // the first progress line: rsync updates about once a second
        extra: ['--compress', 'never', '--retries', '0'],
        watchDestination: dst,
        onPercent: () => {
          process.kill(-doomed.pid, 'SIGKILL');
        },
      });
      expect(cut.code).toBe(1);
      expect(summaryOf(cut.stdout)?.error).toMatch(/rsync failed|connection/);
      expect(await readFile(join(dst, 'first'), 'utf8')).toBe('complete before the crash');
      expect(await readFile(join(dst, '.scribe', 'complete.json'), 'utf8')).toBe(markerBefore);

      receiver = await startReceiver({ volume: dst, keys });
      const again = await runSend({ volume: src, to: receiver.address, keys });
      expect(again.code, again.stderr).toBe(0);
      expect(await sha256File(join(dst, 'big.bin'))).toBe(await sha256File(join(src, 'big.bin')));
    } finally {
      await receiver.stop();
    }
  });
});

const netns = await canUseNetns();

describe.runIf(netns)('a link cut between two clusters mid-transfer', () => {
  let pair: NetnsPair;
  let receiver: Receiver;
  const src = () => join(work, 'cut-src');
  const dst = () => join(work, 'cut-dst');

  beforeAll(async () => {
    pair = await createNetnsPair('faults');
    await mkdir(src());
    await mkdir(dst());
    await writeRandom(join(src(), 'big.bin'), bigSize);
    receiver = await startReceiver({
      volume: dst(),
      keys,
      host: pair.dst.addr,
      argvPrefix: ['ip', 'netns', 'exec', pair.dst.ns],
    });
  });
  afterAll(async () => {
    await receiver?.stop();
    await pair?.cleanup();
  });

  // Keepalives every second and short backoffs, so the stall is noticed and retried within the cut.
  const quickToNotice = { SCRIBE_KEEPALIVE_MS: '1000', SCRIBE_BACKOFF_BASE_MS: '500' };
  const cutForSixSeconds = async () => {
    await pair.linkDown();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await pair.linkUp();
  };

  it('detects the stall, retries when the link is back, and completes', async () => {
    const r = await sendWatching({
      volume: src(),
      to: receiver.address,
      percent: 1, // the first progress line: rsync updates about once a second
      argvPrefix: ['ip', 'netns', 'exec', pair.src.ns],
      env: quickToNotice,
      extra: ['--compress', 'never', '--io-timeout', '10'],
      onPercent: cutForSixSeconds,
    });
    const summary = summaryOf(r.stdout);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(summary?.attempts).toBeGreaterThanOrEqual(2);
    expect(await sha256File(join(dst(), 'big.bin'))).toBe(await sha256File(join(src(), 'big.bin')));
  });

  it('a block volume: detects the stall, retries when the link is back, and completes', async () => {
    // Image files are Block volumes to the mover, as devices are.
    const srcImage = join(work, 'cut-src.img');
    const dstImage = join(work, 'cut-dst.img');
    await writeRandom(srcImage, 192 * MiB);
    await writeFile(dstImage, Buffer.alloc(0));
    await execFileP('truncate', ['-s', String(192 * MiB), dstImage]);
    const blockReceiver = await startReceiver({
      volume: dstImage,
      keys,
      host: pair.dst.addr,
      argvPrefix: ['ip', 'netns', 'exec', pair.dst.ns],
    });
    try {
      const r = await sendWatching({
        volume: srcImage,
        to: blockReceiver.address,
        percent: 0, // the first progress line, at the first block
        argvPrefix: ['ip', 'netns', 'exec', pair.src.ns],
        env: quickToNotice,
        onPercent: cutForSixSeconds,
      });
      const summary = summaryOf(r.stdout);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(summary?.attempts).toBeGreaterThanOrEqual(2);
      expect(await sha256File(dstImage)).toBe(await sha256File(srcImage));
      // The cut transfer ended (on the connection's close, or stopped by the
      // retry), and a later one finished: none waited on the other.
      const said = blockReceiver.logs().map((l) => l.msg);
      expect(said.indexOf('block transfer failed')).toBeGreaterThanOrEqual(0);
      expect(said.lastIndexOf('block transfer finished')).toBeGreaterThan(
        said.indexOf('block transfer failed'),
      );
    } finally {
      await blockReceiver.stop();
    }
  });
});

if (!netns) console.warn('skipping the link-cut test: network namespaces need root and iproute2');

describe.runIf(isRoot())('a full destination volume', () => {
  const src = () => join(work, 'full-src');
  const dst = () => join(work, 'full-dst');
  let receiver: Receiver;

  beforeAll(async () => {
    await mkdir(src());
    await mkdir(dst());
    // A 2 MiB tmpfs plays a destination volume that is too small.
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'scribe-test-full', dst()]);
    receiver = await startReceiver({ volume: dst(), keys });
  });
  afterAll(async () => {
    await receiver?.stop();
    await execFileP('umount', [dst()]).catch(() => undefined);
  });

  it('fails at once, saying so; its partial files go, so a smaller source syncs', async () => {
    await writeFile(join(src(), 'small'), 'fits\n');
    await writeRandom(join(src(), 'big'), 3 * MiB);
    const full = await runSend({ volume: src(), to: receiver.address, keys });
    expect(full.code).toBe(1);
    expect(full.summary?.attempts).toBe(1);
    expect(full.summary?.error).toMatch(
      /^the destination volume is full \(.*No space left on device \(28\).*\): give it more room or make the source smaller, then sync again; this sync is not recorded as complete/,
    );
    expect(full.stderr).not.toMatch(/Debugger|inspector/i);
    // The partial file of big would hold the room that the next sync needs.
    // The sender may hear of the error before the receiver has removed it.
    expect(await readdir(join(dst(), '.scribe')).catch(() => [])).not.toContain('complete.json');
    await expect
      .poll(() => readdir(join(dst(), '.scribe', 'partial')).catch(() => []), { timeout: 5000 })
      .toEqual([]);

    await rm(join(src(), 'big'));
    const ok = await runSend({ volume: src(), to: receiver.address, keys });
    expect(ok.summary?.error).toBeUndefined();
    expect(ok.code).toBe(0);
    expect(await readFile(join(dst(), 'small'), 'utf8')).toBe('fits\n');
    expect((await readdir(dst())).sort()).toEqual(['.scribe', 'small']);
  });

  it('a complete sync leaves no partial file behind, not even of a file the source deleted', async () => {
    await mkdir(join(dst(), '.scribe', 'partial'), { recursive: true });
    await writeFile(
      join(dst(), '.scribe', 'partial', 'gone-from-source'),
      Buffer.alloc(512 * 1024),
    );
    await writeFile(join(src(), 'small'), 'fits, changed\n');
    const r = await runSend({ volume: src(), to: receiver.address, keys });
    expect(r.code, r.summary?.error).toBe(0);
    expect(await readdir(join(dst(), '.scribe', 'partial')).catch(() => [])).toEqual([]);
  });
});
if (!isRoot()) console.warn('skipping the full-volume test: mounting a small tmpfs needs root');

describe('SIGUSR1, which rsync sends its remote shell on an error', () => {
  it('ends the remote shell, as it would end ssh, without opening a debugger', async () => {
    const child = spawn(
      process.execPath,
      [moverBin, 'rsh-handoff', 'scribe', 'rsync', '--server'],
      {
        stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Its handoff arrives once it is up and waiting for the sender.
    await new Promise((resolve) => child.once('message', resolve));
    child.kill('SIGUSR1');
    // Bounded: a remote shell that outlives the signal is the failure.
    const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(stuck);
    expect({ code, signal }).toEqual({ code: 138, signal: null });
    expect(stderr).not.toMatch(/Debugger|inspector/i);
  });

  it('leaves a receiver running, without a debugger port', async () => {
    const dir = join(work, 'usr1');
    await mkdir(dir);
    const receiver = await startReceiver({ volume: dir, keys });
    try {
      process.kill(receiver.pid, 'SIGUSR1');
      await new Promise((r) => setTimeout(r, 500));
      // Node.js would say "Debugger listening", or "Starting inspector ... failed" when 9229 is taken.
      expect(receiver.stderr()).not.toMatch(/Debugger|inspector/i);
      const src = join(work, 'usr1-src-dir');
      await mkdir(src);
      await writeFile(join(src, 'f'), 'after SIGUSR1\n');
      const r = await runSend({ volume: src, to: receiver.address, keys });
      expect(r.code, r.summary?.error).toBe(0);
      expect(await readFile(join(dir, 'f'), 'utf8')).toBe('after SIGUSR1\n');
    } finally {
      await receiver.stop();
    }
  });
});
