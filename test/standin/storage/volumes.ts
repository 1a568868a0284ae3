// Volumes with real data on the stand-in's disk (pool.ts): a directory per
// Filesystem volume, a sparse image per Block volume (attached as a loop
// device when the pool can), and snapshots as reflink copies in a snapshot
// area. Clones and restores are point-in-time copies: what is written to the
// source after the copy does not show in it.

import { mkdir, open, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from './pool.ts';
import { run } from './run.ts';

export type VolumeMode = 'Filesystem' | 'Block';

export interface Volume {
  id: string;
  mode: VolumeMode;
  sizeBytes: number;
  /** Where the data is: the directory (Filesystem), the loop device or image file (Block). */
  path: string;
  /** Block volumes: the image file behind path. */
  image?: string;
  /** Block volumes on a loop device: the device (equals path). */
  device?: string;
}

export interface Snapshot {
  id: string;
  mode: VolumeMode;
  /** Size of the source when taken: a restore needs at least this much. */
  sizeBytes: number;
  /** The snapshot's copy: a directory or an image file. */
  path: string;
  createdAt: Date;
}

export interface VolumeStore {
  readonly pool: Pool;
  create(id: string, mode: VolumeMode, sizeBytes: number): Promise<Volume>;
  /** A new volume holding the source's data as it is now. */
  clone(source: Volume, id: string, sizeBytes: number): Promise<Volume>;
  snapshot(source: Volume, id: string): Promise<Snapshot>;
  restore(snap: Snapshot, id: string, sizeBytes: number): Promise<Volume>;
  get(id: string): Volume | undefined;
  getSnapshot(id: string): Snapshot | undefined;
  /** Removes the volume's data (detaching its loop device). Idempotent. */
  delete(id: string): Promise<void>;
  deleteSnapshot(id: string): Promise<void>;
  /** Detaches every loop device this store attached; the pool stays. Idempotent. */
  close(): Promise<void>;
}

/** Ids become file names: the Kubernetes object-name alphabet only, so no path can escape the pool. */
export function checkId(id: string): string {
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(id) || id.includes('..')) {
    throw new Error(`invalid volume id "${id}": must be a lowercase DNS-1123 name`);
  }
  return id;
}

/** Waits, bounded, until a new loop device reports its image's size (it can read 0 just after losetup). */
async function waitForSize(device: string, want: number): Promise<void> {
  let seen = '';
  for (let i = 0; i < 100; i++) {
    seen = (await run('blockdev', ['--getsize64', device])).trim();
    if (Number(seen) === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`loop device ${device} reports ${seen} bytes, expected ${want}, after 5 s`);
}

export function openVolumeStore(pool: Pool): VolumeStore {
  const volumes = new Map<string, Volume>();
  const snapshots = new Map<string, Snapshot>();
  const dirOf = (id: string): string => join(pool.root, 'volumes', checkId(id));
  const imageOf = (id: string): string => join(pool.root, 'images', `${checkId(id)}.img`);
  const snapOf = (id: string, mode: VolumeMode): string =>
    join(pool.root, 'snapshots', mode === 'Block' ? `${checkId(id)}.img` : checkId(id));

  const copy = (from: string, to: string): Promise<string> =>
    run('cp', ['-a', `--reflink=${pool.reflink}`, '--', from, to], 300_000);

  function claim(id: string): void {
    if (volumes.has(checkId(id))) throw new Error(`volume ${id} already exists`);
  }

  async function attach(id: string, image: string, sizeBytes: number): Promise<Volume> {
    const vol: Volume = { id, mode: 'Block', sizeBytes, path: image, image };
    if (pool.loopDevices) {
      const device = (await run('losetup', ['--find', '--show', image])).trim();
      vol.device = device;
      vol.path = device;
      volumes.set(id, vol);
      // A reused loop device number can still hold pages of the image it
      // served before: drop them so reads see this image.
      await run('blockdev', ['--flushbufs', device]);
      await waitForSize(device, sizeBytes);
    }
    volumes.set(id, vol);
    return vol;
  }

  /** Makes sure what was written through a loop device is in its image before a copy. */
  async function flush(vol: Volume): Promise<void> {
    if (vol.device !== undefined) await run('blockdev', ['--flushbufs', vol.device]);
  }

  async function growImage(image: string, sizeBytes: number): Promise<void> {
    if ((await stat(image)).size < sizeBytes) await truncate(image, sizeBytes);
  }

  const store: VolumeStore = {
    pool,
    async create(id, mode, sizeBytes) {
      claim(id);
      if (mode === 'Filesystem') {
        const vol: Volume = { id, mode, sizeBytes, path: dirOf(id) };
        await mkdir(vol.path, { mode: 0o777 });
        volumes.set(id, vol);
        return vol;
      }
      const image = imageOf(id);
      const fh = await open(image, 'wx', 0o600);
      await fh.truncate(sizeBytes).finally(() => fh.close());
      return attach(id, image, sizeBytes);
    },
    async clone(source, id, sizeBytes) {
      claim(id);
      if (source.mode === 'Filesystem') {
        await copy(source.path, dirOf(id));
        const vol: Volume = { id, mode: 'Filesystem', sizeBytes, path: dirOf(id) };
        volumes.set(id, vol);
        return vol;
      }
      if (sizeBytes < source.sizeBytes) {
        throw new Error(
          `clone of ${source.id} needs at least ${source.sizeBytes} bytes, got ${sizeBytes}`,
        );
      }
      await flush(source);
      const image = imageOf(id);
      await copy(source.image ?? source.path, image);
      await growImage(image, sizeBytes);
      return attach(id, image, Math.max(sizeBytes, source.sizeBytes));
    },
    async snapshot(source, id) {
      if (snapshots.has(checkId(id))) throw new Error(`snapshot ${id} already exists`);
      await flush(source);
      const path = snapOf(id, source.mode);
      await copy(source.image ?? source.path, path);
      const snap: Snapshot = {
        id,
        mode: source.mode,
        sizeBytes: source.sizeBytes,
        path,
        createdAt: new Date(),
      };
      snapshots.set(id, snap);
      return snap;
    },
    async restore(snap, id, sizeBytes) {
      claim(id);
      if (snap.mode === 'Filesystem') {
        await copy(snap.path, dirOf(id));
        const vol: Volume = { id, mode: 'Filesystem', sizeBytes, path: dirOf(id) };
        volumes.set(id, vol);
        return vol;
      }
      if (sizeBytes < snap.sizeBytes) {
        throw new Error(
          `restore of ${snap.id} needs at least ${snap.sizeBytes} bytes, got ${sizeBytes}`,
        );
      }
      const image = imageOf(id);
      await copy(snap.path, image);
      await growImage(image, sizeBytes);
      return attach(id, image, sizeBytes);
    },
    get: (id) => volumes.get(id),
    getSnapshot: (id) => snapshots.get(id),
    async delete(id) {
      const vol = volumes.get(checkId(id));
      volumes.delete(id);
      if (vol?.device !== undefined) await run('losetup', ['-d', vol.device]);
      await rm(dirOf(id), { recursive: true, force: true, maxRetries: 3 });
      await rm(imageOf(id), { force: true });
    },
    async deleteSnapshot(id) {
      snapshots.delete(checkId(id));
      await rm(snapOf(id, 'Filesystem'), { recursive: true, force: true, maxRetries: 3 });
      await rm(snapOf(id, 'Block'), { force: true });
    },
    async close() {
      const errors: unknown[] = [];
      for (const vol of volumes.values()) {
        if (vol.device === undefined) continue;
        await run('losetup', ['-d', vol.device]).catch((e) => errors.push(e));
        delete vol.device;
      }
      if (errors.length > 0)
        throw new AggregateError(errors, 'stand-in volumes: some loop devices stayed attached');
    },
  };
  return store;
}
