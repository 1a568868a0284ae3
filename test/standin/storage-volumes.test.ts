import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of, writeAt } from '../support/device-io.ts';
import { openPool, type Pool } from './storage/pool.ts';
import { run } from './storage/run.ts';
import { checkId, openVolumeStore, type VolumeStore } from './storage/volumes.ts';

const MiB = 1024 * 1024;

async function usedBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return (s.blocks - s.bfree) * s.bsize;
}

async function loopsOf(image: string): Promise<string> {
  return (await run('losetup', ['-j', image])).trim();
}

for (const forceTempDir of [false, true]) {
  describe(`volume store on ${forceTempDir ? 'a temp directory' : 'the default pool'}`, () => {
    let pool: Pool;
    let store: VolumeStore;
    beforeAll(async () => {
      const warnings: string[] = [];
      pool = await openPool({ sizeMiB: 1024, forceTempDir, warn: (m) => warnings.push(m) });
      store = openVolumeStore(pool);
      if (pool.kind === 'tempdir') console.warn(warnings.join('\n'));
    });
    afterAll(async () => {
      await store?.close();
      await pool?.close();
    });

    it('clones and restores Filesystem volumes as point-in-time copies', async () => {
      const src = await store.create('pv-src', 'Filesystem', 64 * MiB);
      expect((await stat(src.path)).isDirectory()).toBe(true);
      await writeFile(join(src.path, 'a.txt'), 'before');
      const big = randomBytes(32 * MiB);
      await writeFile(join(src.path, 'big.bin'), big);

      const before = await usedBytes(pool.root);
      const clone = await store.clone(src, 'pv-clone', 64 * MiB);
      const afterClone = await usedBytes(pool.root);
      if (pool.kind === 'loop-xfs') {
        // A reflink clone shares the 32 MiB file's blocks instead of copying them.
        expect(afterClone - before).toBeLessThan(4 * MiB);
      }
      const snap = await store.snapshot(src, 'snap-1');
      await writeFile(join(src.path, 'a.txt'), 'after');
      await writeFile(join(src.path, 'late.txt'), 'late');

      const restored = await store.restore(snap, 'pv-restored', 64 * MiB);
      for (const vol of [clone, restored]) {
        expect(await readFile(join(vol.path, 'a.txt'), 'utf8')).toBe('before');
        expect(await readdir(vol.path)).not.toContain('late.txt');
        expect((await readFile(join(vol.path, 'big.bin'))).equals(big)).toBe(true);
      }
      // Writing to the clone leaves the source alone.
      await writeFile(join(clone.path, 'a.txt'), 'clone');
      expect(await readFile(join(src.path, 'a.txt'), 'utf8')).toBe('after');

      await store.delete('pv-clone');
      await expect(stat(clone.path)).rejects.toThrow(/ENOENT/);
      await store.deleteSnapshot('snap-1');
      await expect(stat(snap.path)).rejects.toThrow(/ENOENT/);
    });

    it('keeps Block volumes as loop devices or images, with point-in-time snapshots', async () => {
      const size = 16 * MiB;
      const vol = await store.create('pv-block', 'Block', size);
      const st = await stat(vol.path);
      if (pool.loopDevices) {
        expect(st.isBlockDevice()).toBe(true);
        expect(Number((await run('blockdev', ['--getsize64', vol.path])).trim())).toBe(size);
        expect(await loopsOf(vol.image as string)).toContain(vol.path);
      } else {
        expect(st.isFile()).toBe(true);
        expect(st.size).toBe(size);
      }
      await writeAt(vol.path, 3 * MiB, randomBytes(2 * MiB));
      const atSnapshot = await sha256Of(vol.path, size);
      const snap = await store.snapshot(vol, 'snap-block');
      const clone = await store.clone(vol, 'pv-block-clone', 2 * size);
      await writeAt(vol.path, 0, randomBytes(MiB));
      expect(await sha256Of(vol.path, size)).not.toBe(atSnapshot);

      const restored = await store.restore(snap, 'pv-block-restored', size);
      expect(await sha256Of(restored.path, size)).toBe(atSnapshot);
      expect(await sha256Of(clone.path, size)).toBe(atSnapshot);
      expect(clone.sizeBytes).toBe(2 * size);
      await expect(store.restore(snap, 'pv-too-small', size / 2)).rejects.toThrow(/at least/);

      const image = vol.image as string;
      await store.delete('pv-block');
      await expect(stat(image)).rejects.toThrow(/ENOENT/);
      if (pool.loopDevices) expect(await loopsOf(image)).toBe('');

      const restoredImage = restored.image as string;
      await store.close();
      if (pool.loopDevices) expect(await loopsOf(restoredImage)).toBe('');
    });
  });
}

describe('volume ids', () => {
  it('refuses names that could leave the pool', () => {
    for (const bad of ['../etc', 'a/b', 'UPPER', '', '-x', 'a..b']) {
      expect(() => checkId(bad)).toThrow(/invalid volume id/);
    }
    expect(checkId('pvc-0a1b')).toBe('pvc-0a1b');
  });
});
