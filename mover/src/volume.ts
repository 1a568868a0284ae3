import { readFile, stat } from 'node:fs/promises';

export type VolumeKind = 'filesystem' | 'block';

/** A directory is a Filesystem volume; a block device or an image file is a Block volume. */
export async function volumeKind(path: string): Promise<VolumeKind> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new Error(`volume "${path}" does not exist: mount the PVC there or fix --volume`, {
      cause: err,
    });
  }
  if (st.isDirectory()) return 'filesystem';
  if (st.isBlockDevice() || st.isFile()) return 'block';
  throw new Error(`volume "${path}" is neither a directory nor a block device or image file`);
}

/** Size in bytes of a block device (from sysfs) or an image file. */
export async function blockVolumeSize(path: string): Promise<number> {
  const st = await stat(path);
  if (st.isFile()) return st.size;
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((Math.floor(st.rdev / 1048576) & 0xfff00) >>> 0);
  const sectors = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  return Number(sectors.trim()) * 512;
}
