// Scratch filesystems for tests: loop-mounted XFS images (root only) and
// plain temporary directories. Nothing here registers global handlers; every
// resource is released by the cleanup function returned with it, and every
// cleanup may be called more than once.

import { execFile } from 'node:child_process';
import { access, mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** mkfs.xfs (xfsprogs >= 5.19) refuses filesystems smaller than 300 MiB. */
export const MIN_XFS_SIZE_MIB = 300;

export interface LoopFs {
  /** Directory where the filesystem is mounted (its root is the volume). */
  mountpoint: string;
  /** The loop device, e.g. /dev/loop3. */
  device: string;
  /** Unmounts, detaches the loop device and deletes the image. Idempotent. */
  cleanup(): Promise<void>;
}

export interface TempDir {
  path: string;
  /** Removes the directory recursively. Idempotent. */
  cleanup(): Promise<void>;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

let loopProbe: Promise<boolean> | undefined;

/**
 * True when this process is root, the loop-control device exists and
 * `losetup --find` can hand out a free device, and mkfs.xfs is installed.
 * The probe runs once per process.
 */
export function canUseLoopDevices(): Promise<boolean> {
  loopProbe ??= (async () => {
    if (!isRoot()) return false;
    try {
      await access('/dev/loop-control');
      await execFileP('losetup', ['--find'], { timeout: 10_000 });
      await execFileP('mkfs.xfs', ['-V'], { timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  })();
  return loopProbe;
}

export async function makeTempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  let done: Promise<void> | undefined;
  return {
    path,
    cleanup() {
      done ??= rm(path, { recursive: true, force: true, maxRetries: 3 });
      return done;
    },
  };
}

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, {
      cause: err,
    });
  }
}

async function isMounted(mountpoint: string): Promise<boolean> {
  try {
    await execFileP('mountpoint', ['-q', mountpoint], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a sparse image in os.tmpdir(), attaches it to a free loop device,
 * formats it as XFS with reflink enabled and mounts it in a fresh temporary
 * directory. Sizes below MIN_XFS_SIZE_MIB are raised to it (the image is
 * sparse, so this costs no disk). On any failure everything already set up
 * is torn down before the error propagates.
 */
export async function makeLoopFs(opts: { sizeMiB: number; fs?: 'xfs' }): Promise<LoopFs> {
  if ((opts.fs ?? 'xfs') !== 'xfs') throw new Error(`unsupported filesystem ${String(opts.fs)}`);
  const sizeMiB = Math.max(Math.ceil(opts.sizeMiB), MIN_XFS_SIZE_MIB);

  const imageDir = await mkdtemp(join(tmpdir(), 'scribe-loopimg-'));
  const image = join(imageDir, 'fs.img');
  let mountpoint: string | undefined;
  let device: string | undefined;
  let mounted = false;

  let done: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    done ??= (async () => {
      const errors: unknown[] = [];
      if (mountpoint !== undefined && (mounted || (await isMounted(mountpoint)))) {
        try {
          await run('umount', [mountpoint]);
        } catch (err) {
          // Something still holds the mount (e.g. a process we did not start
          // exited late): detach it lazily so the device can be released.
          try {
            await run('umount', ['-l', mountpoint]);
          } catch {
            errors.push(err);
          }
        }
      }
      if (device !== undefined) {
        try {
          await run('losetup', ['-d', device]);
        } catch (err) {
          errors.push(err);
        }
      }
      if (mountpoint !== undefined) await rmdir(mountpoint).catch(() => undefined);
      await rm(imageDir, { recursive: true, force: true });
      if (errors.length > 0) {
        throw new AggregateError(errors, `cleanup of loop filesystem ${image} was incomplete`);
      }
    })();
    return done;
  };

  try {
    const fh = await open(image, 'wx', 0o600);
    try {
      await fh.truncate(sizeMiB * 1024 * 1024);
    } finally {
      await fh.close();
    }
    device = (await run('losetup', ['--find', '--show', image])).trim();
    if (!device.startsWith('/dev/')) throw new Error(`losetup printed ${JSON.stringify(device)}`);
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1', device]);
    mountpoint = await mkdtemp(join(tmpdir(), 'scribe-mnt-'));
    await run('mount', ['-t', 'xfs', device, mountpoint]);
    mounted = true;
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
  return { mountpoint, device, cleanup };
}
