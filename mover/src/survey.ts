import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

/** What one bounded walk of a filesystem volume tells the sender before rsync starts. */
export interface VolumeSurvey {
  /** Regular files seen, with their sizes (the compressibility sample draws from these). */
  files: { path: string; size: number }[];
  /** Every entry was seen: the walk ended within its budget and could read every directory. */
  complete: boolean;
  /** A regular file seen has holes: fewer bytes allocated than its size. */
  holes: boolean;
}

/**
 * Walks the tree breadth-first, at most `entries` entries, one lstat per
 * regular file: 2,000 entries cost 6-10 ms with the metadata cached, 10,000
 * cost ~45 ms, which a no-change resync of a many-file volume would feel, so
 * larger trees keep -S (wantSparse). A file counts as having holes when it
 * is over 4 KiB and allocates less than its size; smaller files may keep
 * their data inline in the inode (ext4, btrfs), which looks the same. A
 * directory it cannot read leaves the walk incomplete.
 */
export function surveyVolume(root: string, entries = 2000): VolumeSurvey {
  const files: VolumeSurvey['files'] = [];
  const queue = [root];
  let seen = 0;
  let holes = false;
  let unread = false;
  while (queue.length) {
    const dir = queue.shift()!;
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      unread = true;
      continue;
    }
    for (const entry of list) {
      if (++seen > entries) return { files, complete: false, holes };
      const path = join(dir, entry.name);
      if (entry.isDirectory()) queue.push(path);
      else if (entry.isFile()) {
        const st = lstatSync(path, { throwIfNoEntry: false });
        if (!st || st.size === 0) continue;
        files.push({ path, size: st.size });
        if (st.size > 4096 && st.blocks * 512 < st.size) holes = true;
      }
    }
  }
  return { files, complete: !unread, holes };
}

export type Sparse = 'auto' | 'always' | 'never';

/**
 * rsync -S turns runs of zeros into holes. It is what keeps sparse files
 * sparse, but on a delta transfer the receiver then writes every matched
 * block on its own (measured: a 1% change to 1 GiB of files took 3.1-3.3 s
 * with -S and 1.7-2.8 s without). So `auto` asks for it only where the
 * volume has holes, or where the walk could not see every file.
 */
export function wantSparse(when: Sparse, survey: VolumeSurvey | undefined): boolean {
  if (when !== 'auto') return when === 'always';
  return !survey || !survey.complete || survey.holes;
}
