// The stand-in node's disk: one XFS filesystem with reflink on a loop device
// (root), or a plain temporary directory where loop devices are not
// available. Volumes, block images and snapshots all live on it, so clones and
// snapshots are reflink copies that share blocks until written.

import { access, mkdir, mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, run } from './run.ts';

/** mkfs.xfs (xfsprogs >= 5.19) refuses filesystems smaller than 300 MiB. */
const MIN_XFS_MIB = 300;

export interface Pool {
  /** 'loop-xfs': a real filesystem with reflink; 'tempdir': the fallback. */
  kind: 'loop-xfs' | 'tempdir';
  /** Root of the pool; holds volumes/, images/ and snapshots/. */
  root: string;
  /** The loop device backing the pool (loop-xfs only). */
  device?: string;
  /** cp's --reflink mode: 'always' on XFS (a copy that cannot share blocks is an error), else 'auto'. */
  reflink: 'always' | 'auto';
  /** True when block images can be attached as loop devices. */
  loopDevices: boolean;
  /** Unmounts, detaches and deletes. Idempotent. */
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Parent directory for the pool's files (default os.tmpdir()). */
  dir?: string;
  /** Size of the sparse XFS image (default 4096 MiB; costs only what is written). */
  sizeMiB?: number;
  /** Force the temp-directory fallback (tests of the unprivileged path). */
  forceTempDir?: boolean;
  /** Where the fallback message goes (default console.warn). */
  warn?: (msg: string) => void;
}

async function loopAvailable(): Promise<string | undefined> {
  if (!isRoot()) return 'not root';
  try {
    await access('/dev/loop-control');
    await run('losetup', ['--find'], 10_000);
    await run('mkfs.xfs', ['-V'], 10_000);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function makeAreas(root: string): Promise<void> {
  for (const area of ['volumes', 'images', 'snapshots']) await mkdir(join(root, area));
}

export async function openPool(opts: PoolOptions = {}): Promise<Pool> {
  const parent = opts.dir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const why = opts.forceTempDir ? 'a temp directory was requested' : await loopAvailable();
  if (why !== undefined) {
    warn(`stand-in storage: using a temp directory, not a loop-backed XFS (${why})`);
    const root = await mkdtemp(join(parent, 'standin-pool-'));
    await makeAreas(root);
    let done: Promise<void> | undefined;
    return {
      kind: 'tempdir',
      root,
      reflink: 'auto',
      loopDevices: false,
      close: () => (done ??= rm(root, { recursive: true, force: true, maxRetries: 3 })),
    };
  }

  const sizeMiB = Math.max(opts.sizeMiB ?? 4096, MIN_XFS_MIB);
  const work = await mkdtemp(join(parent, 'standin-disk-'));
  const image = join(work, 'disk.img');
  const root = join(work, 'mnt');
  let device: string | undefined;
  let mounted = false;
  let done: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (done ??= (async () => {
      const errors: unknown[] = [];
      if (mounted) {
        await run('umount', [root]).catch(async (err: unknown) => {
          // A process we did not start may still hold a file: detach lazily
          // so the loop device can still be released.
          await run('umount', ['-l', root]).catch(() => errors.push(err));
        });
      }
      if (device !== undefined) await run('losetup', ['-d', device]).catch((e) => errors.push(e));
      await rmdir(root).catch(() => undefined);
      await rm(work, { recursive: true, force: true });
      if (errors.length > 0)
        throw new AggregateError(errors, `stand-in disk ${image}: cleanup incomplete`);
    })());
  try {
    const fh = await open(image, 'wx', 0o600);
    await fh.truncate(sizeMiB * 1024 * 1024).finally(() => fh.close());
    device = (await run('losetup', ['--find', '--show', image])).trim();
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1', device]);
    await mkdir(root);
    await run('mount', ['-t', 'xfs', device, root]);
    mounted = true;
    await makeAreas(root);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { kind: 'loop-xfs', root, device, reflink: 'always', loopDevices: true, close };
}
