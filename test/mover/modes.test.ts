import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../support/loopfs.ts';
import { keygen, runMover, runSend, startReceiver, type MoverKeys } from '../support/mover.ts';

const run = promisify(execFile);
let work: string;
let keys: MoverKeys;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-modes-'));
  await chmod(work, 0o755);
  keys = await keygen(join(work, 'keys'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function volumeWith(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);
  return dir;
}

const ipv6 = await new Promise<boolean>((resolve) => {
  const s = net.createServer().listen(0, '::1', () => s.close(() => resolve(true)));
  s.on('error', () => resolve(false));
});

describe.runIf(ipv6)('IPv6', () => {
  it('listens on and sends to a bracketed IPv6 address', async () => {
    const src = await volumeWith('v6-src', { a: 'over IPv6' });
    const dst = await volumeWith('v6-dst', {});
    const receiver = await startReceiver({ volume: dst, keys, host: '::1' });
    try {
      expect(receiver.address).toMatch(/^\[::1\]:\d+$/);
      const r = await runSend({ volume: src, to: receiver.address, keys });
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(join(dst, 'a'), 'utf8')).toBe('over IPv6');
    } finally {
      await receiver.stop();
    }
  });
});
if (!ipv6) console.warn('skipping the IPv6 test: ::1 is not available here');

describe('sparse files (--sparse auto)', () => {
  /** 512-byte blocks allocated and apparent size. */
  async function usage(path: string): Promise<{ blocks: number; size: number }> {
    const st = await stat(path);
    return { blocks: st.blocks, size: st.size };
  }

  it('keeps a file with holes sparse, and leaves -S off where no file has holes', async () => {
    const src = await volumeWith('sparse-src', { 'a.txt': 'plain' });
    await mkdir(join(src, 'vm/disks'), { recursive: true });
    const fh = await open(join(src, 'vm/disks/disk.img'), 'w');
    try {
      await fh.write(Buffer.alloc(4096, 1), 0, 4096, 0);
      await fh.write(Buffer.alloc(4096, 2), 0, 4096, 16 * 1024 * 1024 - 4096);
    } finally {
      await fh.close();
    }
    const holes = await usage(join(src, 'vm/disks/disk.img'));
    if (holes.blocks * 512 >= holes.size) {
      console.warn(`${work} does not keep holes: not checking sparse files`);
      return;
    }
    const dst = await volumeWith('sparse-dst', {});
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const first = await runSend({ volume: src, to: receiver.address, keys });
      expect(first.code, first.stderr).toBe(0);
      expect(first.summary?.sparse).toBe(true);
      const copy = await usage(join(dst, 'vm/disks/disk.img'));
      expect(copy.size).toBe(16 * 1024 * 1024);
      expect(copy.blocks * 512).toBeLessThan(1024 * 1024);

      // Without holes anywhere, the next sync runs without -S and still
      // copies the changed file exactly.
      await rm(join(src, 'vm'), { recursive: true });
      await writeFile(join(src, 'a.txt'), Buffer.alloc(200_000, 3));
      const second = await runSend({ volume: src, to: receiver.address, keys });
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary?.sparse).toBe(false);
      expect(await readFile(join(dst, 'a.txt'))).toEqual(Buffer.alloc(200_000, 3));
      await expect(stat(join(dst, 'vm'))).rejects.toThrow(/ENOENT/);

      const forced = await runSend({
        volume: src,
        to: receiver.address,
        keys,
        extraArgs: ['--sparse', 'always'],
      });
      expect(forced.summary?.sparse).toBe(true);
    } finally {
      await receiver.stop();
    }
  });
});

describe('compression of a resync of large incompressible files', () => {
  it('is off for the first sync and on (zstd, for the block-match tokens) once the receiver holds a complete one', async () => {
    const src = await volumeWith('delta-src', {});
    // 64 MiB of noise: sampling finds nothing to compress.
    const size = 64 * 1024 * 1024;
    await writeFile(join(src, 'db.img'), randomBytes(size));
    const dst = await volumeWith('delta-dst', {});
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const first = await runSend({ volume: src, to: receiver.address, keys });
      expect(first.code, first.stderr).toBe(0);
      expect(first.summary?.compression).toBe('none');

      // 1% in scattered, unaligned 4 KiB writes, as a database would.
      const fh = await open(join(src, 'db.img'), 'r+');
      try {
        const slices = (size * 0.01) / 4096;
        for (let i = 0; i < slices; i++) {
          const at = Math.floor((i * size) / slices) + 1000;
          await fh.write(randomBytes(4096), 0, 4096, at);
        }
      } finally {
        await fh.close();
      }
      const second = await runSend({ volume: src, to: receiver.address, keys });
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary?.compression).toBe('zstd');
      const digest = async (p: string) =>
        createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
      expect(await digest(join(dst, 'db.img'))).toBe(await digest(join(src, 'db.img')));
      // Literal data is the changed blocks only: 2 KiB blocks, 3 per unaligned write.
      expect(second.summary!.dataBytes).toBeLessThan(size * 0.01 * 1.6);
      expect(second.summary!.wireBytes).toBeLessThan(size * 0.01 * 2.2);

      // Told never to compress, it does not ask.
      const never = await runSend({
        volume: src,
        to: receiver.address,
        keys,
        extraArgs: ['--compress', 'never'],
      });
      expect(never.summary?.compression).toBe('none');
    } finally {
      await receiver.stop();
    }
  });
});

describe('the file list of a resync of a big tree', () => {
  it('goes in one piece once the receiver holds a complete sync, and the copy stays exact', async () => {
    // More entries than the survey walks (2,000): a big tree.
    const src = await volumeWith('list-src', {});
    for (let d = 0; d < 25; d++) {
      await mkdir(join(src, `d${d}`));
      for (let f = 0; f < 100; f++) await writeFile(join(src, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    const dst = await volumeWith('list-dst', {});
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const first = await runSend({ volume: src, to: receiver.address, keys });
      expect(first.code, first.stderr).toBe(0);
      expect(first.summary?.incrementalRecursion).toBe(true);
      expect(first.summary?.files).toBeGreaterThanOrEqual(2500);

      await writeFile(join(src, 'd7', 'f7'), 'changed\n');
      await rm(join(src, 'd9'), { recursive: true });
      await writeFile(join(src, 'd3', 'new'), 'new\n');
      const second = await runSend({ volume: src, to: receiver.address, keys });
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary?.incrementalRecursion).toBe(false);
      expect(second.summary?.files).toBe(2);
      expect(await readFile(join(dst, 'd7', 'f7'), 'utf8')).toBe('changed\n');
      expect(await readFile(join(dst, 'd3', 'new'), 'utf8')).toBe('new\n');
      await expect(stat(join(dst, 'd9'))).rejects.toThrow(/ENOENT/);
    } finally {
      await receiver.stop();
    }
  });
});

describe('receive --once', () => {
  it('exits 0 after one complete sync', async () => {
    const src = await volumeWith('once-src', { a: 'once' });
    const dst = await volumeWith('once-dst', {});
    const receiver = await startReceiver({ volume: dst, keys, once: true });
    const r = await runSend({ volume: src, to: receiver.address, keys });
    expect(r.code, r.stderr).toBe(0);
    expect(await receiver.exited).toEqual({ code: 0, signal: null });
  });

  it('exits non-zero when no sync completes in time', async () => {
    const dst = await volumeWith('once-timeout', {});
    const receiver = await startReceiver({
      volume: dst,
      keys,
      once: true,
      extraArgs: ['--timeout', '1'],
    });
    const { code } = await receiver.exited;
    expect(code).not.toBe(0);
    expect(receiver.stderr()).toMatch(/no sync completed in time/);
  });

  it('exits non-zero when stopped before a sync completes', async () => {
    const dst = await volumeWith('once-stopped', {});
    const receiver = await startReceiver({ volume: dst, keys, once: true });
    const result = await receiver.stop();
    expect(result, receiver.stderr()).toEqual({ code: 1, signal: null });
  });
});

describe('send --progress', () => {
  it('prints progress as JSON lines, then the summary', async () => {
    const src = await volumeWith('progress-src', {});
    await writeFile(join(src, 'big'), Buffer.alloc(32 * 1024 * 1024, 7));
    const dst = await volumeWith('progress-dst', {});
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const r = await runSend({ volume: src, to: receiver.address, keys, progress: true });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const progress = lines.filter((l) => l.type === 'progress');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ percent: 100, bytes: 32 * 1024 * 1024 });
      expect(lines.at(-1)).toMatchObject({ result: 'succeeded' });
    } finally {
      await receiver.stop();
    }
  });
});

describe('send --ssh-client openssh', () => {
  it("carries rsync over OpenSSH's client to the ssh2 receiver, host key still pinned", async () => {
    const src = await volumeWith('ossh-src', { a: 'via OpenSSH' });
    const dst = await volumeWith('ossh-dst', {});
    const receiver = await startReceiver({ volume: dst, keys });
    try {
      const ok = await runSend({
        volume: src,
        to: receiver.address,
        keys,
        extraArgs: ['--ssh-client', 'openssh'],
      });
      expect(ok.code, ok.stderr).toBe(0);
      expect(await readFile(join(dst, 'a'), 'utf8')).toBe('via OpenSSH');
      expect(await readFile(join(dst, '.scribe', 'complete.json'), 'utf8')).toContain(
        ok.summary?.syncId ?? 'missing',
      );
      const other = await keygen(join(work, 'ossh-other'));
      const refused = await runSend({
        volume: src,
        to: receiver.address,
        keys: { ...keys, hostPub: other.hostPub },
        extraArgs: ['--ssh-client', 'openssh'],
      });
      expect(refused.code).toBe(1);
      expect(refused.summary?.error).toMatch(/host key verification failed .* presented SHA256:/);
    } finally {
      await receiver.stop();
    }
  });
});

describe('bad input', () => {
  it('names a missing volume and how to fix it', async () => {
    const r = await runMover([
      'send',
      '--volume',
      join(work, 'nope'),
      '--to',
      '127.0.0.1:1',
      '--key',
      keys.client,
      '--known-host-key',
      keys.hostPub,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: volume ".*nope" does not exist: mount the PVC there or fix --volume/,
    );
  });

  it('rejects a malformed address with the valid forms', async () => {
    const r = await runMover([
      'send',
      '--volume',
      work,
      '--to',
      '::1:22',
      '--key',
      keys.client,
      '--known-host-key',
      keys.hostPub,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/expected HOST:PORT, e.g. 10.0.0.5:2222 or \[fd00::5\]:2222/);
  });

  it('says which key file is not a key', async () => {
    const r = await runMover([
      'send',
      '--volume',
      work,
      '--to',
      '127.0.0.1:1',
      '--key',
      keys.clientPub.replace('.pub', '.nope'),
      '--known-host-key',
      keys.hostPub,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read the client key ".*client_ed25519.nope": ENOENT/);
  });

  it('points at help for an unknown flag', async () => {
    const r = await runMover([
      'send',
      '--volume',
      work,
      '--to',
      '127.0.0.1:1',
      '--key',
      keys.client,
      '--known-host-key',
      keys.hostPub,
      '--jsno',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown option '--jsno'/);
    expect(r.stderr).toMatch(/scribe-mover help/);
  });
});

describe.runIf(isRoot())('an unprivileged receiver', () => {
  it('stores the owners it cannot apply in xattrs (fake-super)', async () => {
    const nobody = 65534;
    const src = await volumeWith('unpriv-src', { owned: 'by 12345' });
    await chown(join(src, 'owned'), 12345, 12345);
    const dst = await volumeWith('unpriv-dst', {});
    await chown(dst, nobody, nobody);
    const mine = join(work, 'nobody-keys');
    await mkdir(mine);
    for (const f of ['host_ed25519', 'client_ed25519.pub']) {
      await copyFile(join(keys.dir, f), join(mine, f));
      await chown(join(mine, f), nobody, nobody);
    }
    const receiver = await startReceiver({
      volume: dst,
      keys: {
        ...keys,
        host: join(mine, 'host_ed25519'),
        clientPub: join(mine, 'client_ed25519.pub'),
      },
      argvPrefix: [
        'setpriv',
        `--reuid=${nobody}`,
        `--regid=${nobody}`,
        '--clear-groups',
        '--inh-caps=-all',
      ],
    });
    try {
      const r = await runSend({ volume: src, to: receiver.address, keys });
      expect(r.code, r.stderr).toBe(0);
      const st = await stat(join(dst, 'owned'));
      expect(st.uid).toBe(nobody);
      const { stdout } = await run('getfattr', [
        '-n',
        'user.rsync.%stat',
        '--only-values',
        join(dst, 'owned'),
      ]);
      expect(stdout).toMatch(/ 12345:12345$/);
    } finally {
      await receiver.stop();
    }
  });
});
if (!isRoot())
  console.warn('skipping the unprivileged receiver test: it needs root to switch users');
