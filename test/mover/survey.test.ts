import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { surveyVolume, wantSparse, type VolumeSurvey } from '../../mover/src/survey.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scribe-survey-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 4 MiB file with data only at both ends: a hole in between. */
async function sparseFile(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.write(Buffer.alloc(4096, 1), 0, 4096, 0);
    await fh.write(Buffer.alloc(4096, 2), 0, 4096, 4 * 1024 * 1024 - 4096);
  } finally {
    await fh.close();
  }
}

describe('surveyVolume', () => {
  it('sees every file of a small tree, with sizes, and no holes in written files', async () => {
    await mkdir(join(dir, 'a/b'), { recursive: true });
    await writeFile(join(dir, 'top'), Buffer.alloc(10_000, 7));
    await writeFile(join(dir, 'a/b/deep'), Buffer.alloc(300_000, 9));
    await writeFile(join(dir, 'empty'), '');
    const s = surveyVolume(dir);
    expect(s.complete).toBe(true);
    expect(s.holes).toBe(false);
    expect(s.files.map((f) => [f.path.slice(dir.length + 1), f.size]).sort()).toEqual([
      ['a/b/deep', 300_000],
      ['top', 10_000],
    ]);
  });

  it('finds a file with a hole however deep it is', async () => {
    await mkdir(join(dir, 'x/y/z'), { recursive: true });
    await writeFile(join(dir, 'plain'), Buffer.alloc(100_000, 1));
    await sparseFile(join(dir, 'x/y/z/disk.img'));
    const st = await stat(join(dir, 'x/y/z/disk.img'));
    if (st.blocks * 512 >= st.size) {
      console.warn(`${tmpdir()} does not keep holes: not checking hole detection`);
      return;
    }
    expect(surveyVolume(dir)).toMatchObject({ complete: true, holes: true });
  });

  it('does not count a small file with nothing allocated (inline data looks the same)', async () => {
    const fh = await open(join(dir, 'tiny'), 'w');
    await fh.truncate(4096);
    await fh.close();
    expect(surveyVolume(dir).holes).toBe(false);
  });

  it('stops at its budget and says the walk is incomplete', async () => {
    for (let i = 0; i < 30; i++) await writeFile(join(dir, `f${i}`), 'x');
    expect(surveyVolume(dir, 10).complete).toBe(false);
    expect(surveyVolume(dir, 30).complete).toBe(true);
  });

  it('counts a directory it cannot read as not seen', async () => {
    expect(surveyVolume(join(dir, 'missing'))).toEqual({
      files: [],
      complete: false,
      holes: false,
    });
    // A file where a directory was listed: readdir fails (ENOTDIR) as it would
    // on a directory that vanished or cannot be read.
    await writeFile(join(dir, 'plain'), 'x');
    expect(surveyVolume(join(dir, 'plain')).complete).toBe(false);
    expect(surveyVolume(dir).complete).toBe(true);
  });
});

describe('wantSparse', () => {
  const survey = (complete: boolean, holes: boolean): VolumeSurvey => ({
    files: [],
    complete,
    holes,
  });

  it('auto: -S where the volume has holes or was not seen whole', () => {
    expect(wantSparse('auto', survey(true, false))).toBe(false);
    expect(wantSparse('auto', survey(true, true))).toBe(true);
    expect(wantSparse('auto', survey(false, false))).toBe(true);
    expect(wantSparse('auto', undefined)).toBe(true);
  });

  it('always and never are what they say', () => {
    expect(wantSparse('always', survey(true, false))).toBe(true);
    expect(wantSparse('never', survey(false, true))).toBe(false);
  });
});
