// Filesystem trees for fidelity tests: a builder that creates every kind of
// entry and metadata a volume can hold, a mutator that changes each of them,
// and an exhaustive describe/compare pair that reports every difference.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type BigIntStats,
} from 'node:fs';
import {
  appendFile,
  link,
  lchown,
  lstat,
  mkdir,
  readdir,
  open,
  readFile,
  rename,
  rm,
  symlink,
  unlink,
  chmod,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

// ---------------------------------------------------------------------------
// Paths the builder creates (relative to the tree root) that tests may refer to.

/** Changed by mutateTree in place with size and mtime restored: only a checksum pass sees it. */
export const SAME_SIZE_MTIME_PATH = 'files/same-size-mtime.bin';
/** 64 MiB apparent size, a few 4 KiB islands of data. */
export const SPARSE_PATH = 'sparse/sparse-64MiB';
export const SPARSE_APPARENT_BYTES = 64 * 1024 * 1024;
/** 1 MiB of random (incompressible) bytes. */
export const RANDOM_PATH = 'files/random-1MiB';
export const RANDOM_BYTES = 1024 * 1024;

/** A 255-byte name made of multi-byte characters (5 + 125 × 2 bytes). */
export const LONG_NAME = 'long-' + 'é'.repeat(125);
export const UTF8_NAME = 'Grüße-日本語-🚀';
export const NEWLINE_NAME = 'new\nline';

export const ODD_UID = 12345;
export const ODD_GID = 54321;
export const NOBODY_ID = 65534;

export interface SkippedFeature {
  feature: string;
  reason: string;
}

export interface BuildReport {
  /** Features the filesystem or our privileges did not allow, with why. */
  skipped: SkippedFeature[];
  /** Number of small files written directly in the root. */
  rootEntries: number;
}

export interface MutateReport {
  /** Equal to SAME_SIZE_MTIME_PATH: content changed, size and mtime kept. */
  sameSizeMtimePath: string;
  skipped: SkippedFeature[];
}

// ---------------------------------------------------------------------------
// Small helpers

function amRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

class CommandError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string, options?: ErrorOptions) {
    super(message, options);
    this.stderr = stderr;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  try {
    await execFileP(cmd, args, { timeout: 60_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new CommandError(`${cmd} failed: ${stderr.trim() || (err as Error).message}`, stderr, {
      cause: err,
    });
  }
}

/** Runs a command that may print a lot, returning stdout as raw bytes. */
function runBuffer(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024, timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) {
          const text = stderr.toString('utf8').trim();
          reject(
            new CommandError(`${cmd} ${args.join(' ')} failed: ${text || err.message}`, text, {
              cause: err,
            }),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

/** Errors that mean "this filesystem or these privileges do not allow it". */
function isUnsupported(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    ['EPERM', 'EACCES', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL', 'ENOSYS'].includes(code)
  ) {
    return true;
  }
  if (err instanceof CommandError) {
    return /not supported|not permitted|permission denied|invalid argument/i.test(err.stderr);
  }
  return false;
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * "@sec.nnnnnnnnn" for touch -d, exact to the nanosecond. Sign and magnitude:
 * touch reads "@-1.25" as -1.25 s, so negative times must not be floored.
 */
function touchStamp(ns: bigint): string {
  const billion = 1_000_000_000n;
  const abs = ns < 0n ? -ns : ns;
  const frac = (abs % billion).toString().padStart(9, '0');
  return `@${ns < 0n ? '-' : ''}${abs / billion}.${frac}`;
}

/** Sets mtime (and atime) with nanosecond precision, without following symlinks. */
async function setTimeNs(paths: string[], ns: bigint): Promise<void> {
  await run('touch', ['-h', '-d', touchStamp(ns), '--', ...paths]);
}

async function setXattr(path: string, name: string, value: Buffer): Promise<void> {
  await run('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, '--', path]);
}

async function removeXattr(path: string, name: string): Promise<void> {
  await run('setfattr', ['-h', '-x', name, '--', path]);
}

class Recorder {
  readonly skipped: SkippedFeature[] = [];
  readonly root = amRoot();

  /** Runs fn; records the feature as skipped when the platform refuses it. */
  async feature(
    name: string,
    fn: () => Promise<void>,
    opts: { needsRoot?: boolean } = {},
  ): Promise<void> {
    if (opts.needsRoot && !this.root) {
      this.skipped.push({ feature: name, reason: 'requires root' });
      return;
    }
    try {
      await fn();
    } catch (err) {
      if (!isUnsupported(err)) throw err;
      this.skipped.push({
        feature: name,
        reason: (err as Error).message.split('\n')[0] ?? String(err),
      });
    }
  }
}

// ---------------------------------------------------------------------------
// Builder

/**
 * Creates under `root` (which must exist, ideally empty) every kind of entry
 * and metadata the mover must carry. Features the filesystem or privileges
 * refuse are skipped and listed in the report; any other error throws.
 */
export async function buildTrickyTree(
  root: string,
  opts: { rootEntries?: number } = {},
): Promise<BuildReport> {
  const rec = new Recorder();
  const p = (rel: string): string => join(root, rel);
  const dirs = [
    'files',
    'sparse',
    'hardlinks',
    'hardlinks/sub',
    'other',
    'links',
    'modes',
    'owners',
    'xattrs',
    'acl',
    'times',
    'devices',
    'names',
    'names/empty-dir',
    'type-change',
    'type-change/dir-to-symlink',
    'rename',
    'rename/old-dir',
    'rename/old-dir/inner',
    'delete',
    'delete/subtree/a/b/c',
  ];
  for (const d of dirs) await mkdir(p(d), { recursive: true });
  let deep = 'deep';
  for (let i = 1; i <= 20; i++) deep += `/d${String(i).padStart(2, '0')}`;
  await mkdir(p(deep), { recursive: true });
  await writeFile(p(`${deep}/leaf`), 'at the bottom\n');

  // Regular files of several sizes.
  await writeFile(p('files/empty'), '');
  await writeFile(p('files/one-byte'), 'x');
  await writeFile(p(RANDOM_PATH), randomBytes(RANDOM_BYTES));
  await writeFile(p(SAME_SIZE_MTIME_PATH), randomBytes(4096));
  await writeFile(p('files/append-me.txt'), 'first line\n');
  await writeFile(p('files/zeros-dense'), Buffer.alloc(256 * 1024));
  await writeFile(p('files/text.txt'), 'compressible text\n'.repeat(5000));

  // Sparse file: truncate to full size, then positional writes of islands.
  {
    const fh = await open(p(SPARSE_PATH), 'w');
    try {
      await fh.truncate(SPARSE_APPARENT_BYTES);
      for (const offset of [
        0,
        5 * 1024 * 1024 + 100,
        40 * 1024 * 1024,
        SPARSE_APPARENT_BYTES - 4096,
      ]) {
        await fh.write(randomBytes(4096), 0, 4096, offset);
      }
    } finally {
      await fh.close();
    }
  }

  // Hard links: a group of three across directories, a pair to break later,
  // and a single file that gains a link later.
  await writeFile(p('hardlinks/group-a'), 'three names, one inode\n');
  await link(p('hardlinks/group-a'), p('hardlinks/sub/group-b'));
  await link(p('hardlinks/group-a'), p('other/group-c'));
  await writeFile(p('hardlinks/pair-1'), 'two names until broken\n');
  await link(p('hardlinks/pair-1'), p('hardlinks/pair-2'));
  await writeFile(p('hardlinks/solo'), 'alone for now\n');

  // Symlinks.
  await symlink('../files/one-byte', p('links/relative'));
  await symlink('/etc/hostname', p('links/absolute-outside'));
  await symlink('../does/not/exist', p('links/dangling'));
  await symlink('../names', p('links/to-dir'));
  await symlink('../files/empty', p('type-change/symlink-to-file'));

  // Odd owners (ids with no passwd entry). chown before chmod: chown clears setuid.
  await writeFile(p('owners/odd-ids'), 'owned by nobody we know\n');
  await writeFile(p('owners/nobody'), 'owned by 65534\n');
  await mkdir(p('owners/odd-dir'));
  await symlink('odd-ids', p('owners/odd-link'));
  await rec.feature(
    'chown',
    async () => {
      await lchown(p('owners/odd-ids'), ODD_UID, ODD_GID);
      await lchown(p('owners/nobody'), NOBODY_ID, NOBODY_ID);
      await lchown(p('owners/odd-dir'), ODD_GID, ODD_UID);
      await lchown(p('owners/odd-link'), ODD_UID, ODD_GID);
    },
    { needsRoot: true },
  );

  // Permissions and special bits.
  const modeFiles: Array<[string, number]> = [
    ['modes/m0777', 0o777],
    ['modes/m0640', 0o640],
    ['modes/setuid-04755', 0o4755],
    ['modes/setgid-02755', 0o2755],
    ['modes/all-07777', 0o7777],
  ];
  for (const [rel, mode] of modeFiles) {
    await writeFile(p(rel), `mode ${mode.toString(8)}\n`);
    await chmod(p(rel), mode);
  }
  await writeFile(p('modes/m0000'), 'nobody may read this\n');
  await rec.feature(
    'mode 0000 file',
    async () => {
      await chmod(p('modes/m0000'), 0o000);
    },
    // Without root neither the describer nor the mover could read it.
    { needsRoot: true },
  );
  await mkdir(p('modes/setgid-dir-02750'));
  await chmod(p('modes/setgid-dir-02750'), 0o2750);
  await writeFile(p('modes/setgid-dir-02750/inside'), 'in a setgid dir\n');
  await mkdir(p('modes/sticky-dir-01777'));
  await chmod(p('modes/sticky-dir-01777'), 0o1777);
  await mkdir(p('modes/dir-0700'));
  await chmod(p('modes/dir-0700'), 0o700);

  // Extended attributes (user namespace): text, binary, empty, large; on a dir too.
  await writeFile(p('xattrs/file'), 'has xattrs\n');
  await mkdir(p('xattrs/dir'));
  await writeFile(p('xattrs/large'), 'has a large xattr\n');
  await writeFile(p('xattrs/on-hardlink'), 'xattr shared by two names\n');
  await link(p('xattrs/on-hardlink'), p('xattrs/on-hardlink-2'));
  await rec.feature('user xattrs', async () => {
    await setXattr(p('xattrs/file'), 'user.plain', Buffer.from('hello'));
    await setXattr(
      p('xattrs/file'),
      'user.binary',
      Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x3d, 0x22]),
    );
    await setXattr(p('xattrs/file'), 'user.empty', Buffer.alloc(0));
    await setXattr(p('xattrs/dir'), 'user.on.dir', Buffer.from('directory attribute'));
    await setXattr(p('xattrs/large'), 'user.large', randomBytes(2000));
    await setXattr(p('xattrs/on-hardlink'), 'user.shared', Buffer.from('one inode'));
    await setXattr(p(RANDOM_PATH), 'user.checksum', Buffer.from('not really'));
  });

  // POSIX ACLs: access ACL with named entries, default ACL on a dir (and a
  // file created inside it after, which inherits), ACL on a dir.
  await writeFile(p('acl/file'), 'has an access ACL\n');
  await mkdir(p('acl/default-dir'));
  await mkdir(p('acl/access-dir'));
  await rec.feature('POSIX ACLs', async () => {
    await run('setfacl', [
      '-m',
      `u:${ODD_UID}:rw-,g:${ODD_GID}:r--,u:${NOBODY_ID}:--x`,
      '--',
      p('acl/file'),
    ]);
    await run('setfacl', ['-m', `u:${ODD_UID}:rwx,g:${ODD_GID}:r-x`, '--', p('acl/access-dir')]);
    await run('setfacl', [
      '-d',
      '-m',
      `u:${ODD_UID}:rwx,g:${ODD_GID}:r-x,o::---`,
      '--',
      p('acl/default-dir'),
    ]);
    await writeFile(p('acl/default-dir/inherited'), 'inherits the default ACL\n');
    await mkdir(p('acl/default-dir/inherited-dir'));
  });

  // Device nodes and a FIFO.
  await rec.feature(
    'character device',
    async () => {
      await run('mknod', ['-m', '0640', p('devices/char-1-3'), 'c', '1', '3']);
    },
    { needsRoot: true },
  );
  await rec.feature(
    'block device',
    async () => {
      await run('mknod', ['-m', '0600', p('devices/block-7-200'), 'b', '7', '200']);
    },
    { needsRoot: true },
  );
  await rec.feature('FIFO', async () => {
    await run('mkfifo', ['-m', '0620', '--', p('devices/fifo')]);
  });

  // Awkward names.
  for (const name of [
    LONG_NAME,
    UTF8_NAME,
    NEWLINE_NAME,
    'with space',
    ' leading space',
    '-leading-dash',
    'glob*?[x]',
    'back\\slash',
    'tab\there',
    '.hidden',
    'colon:name',
  ]) {
    await writeFile(p(`names/${name}`), `name ${JSON.stringify(name)}\n`);
  }
  await mkdir(p(`names/${UTF8_NAME}-dir`));
  await writeFile(p(`names/${UTF8_NAME}-dir/${NEWLINE_NAME}`), 'nested odd names\n');

  // Entries mutateTree will change type, rename or delete.
  await writeFile(p('type-change/file-to-dir'), 'becomes a directory\n');
  await writeFile(p('type-change/dir-to-symlink/child'), 'goes away with its dir\n');
  await writeFile(p('rename/old-file'), 'renamed later\n');
  await writeFile(p('rename/old-dir/inner/file'), 'in a renamed dir\n');
  await writeFile(p('delete/file1'), 'deleted later\n');
  await writeFile(p('delete/file2'), 'stays\n');
  for (const d of [
    'delete/subtree',
    'delete/subtree/a',
    'delete/subtree/a/b',
    'delete/subtree/a/b/c',
  ]) {
    await writeFile(p(`${d}/f`), `in ${d}\n`);
  }

  // Many small files directly in the root.
  const rootEntries = opts.rootEntries ?? 20_000;
  const indices = Array.from({ length: rootEntries }, (_, i) => i);
  await mapLimit(indices, 64, async (i) => {
    await writeFile(
      p(`root-${String(i).padStart(5, '0')}.txt`),
      `root entry ${i}\n${'.'.repeat(i % 97)}\n`,
    );
  });

  // Timestamps last: writing a file sets its mtime, creating entries sets the
  // parent's. Nanoseconds and pre-1970 values, on files, a symlink and dirs.
  await writeFile(p('times/ns'), 'nanosecond mtime\n');
  await writeFile(p('times/pre-1970'), 'before the epoch\n');
  await writeFile(p('times/epoch-zero'), 'at the epoch\n');
  await writeFile(p('times/far-future'), 'in 2100\n');
  await symlink('ns', p('times/link-ns'));
  await mkdir(p('times/dir-pre-1970'));
  await setTimeNs([p('times/ns')], 1_700_000_000_123_456_789n);
  await setTimeNs([p('times/pre-1970'), p('times/dir-pre-1970')], -86_400_123_456_789n);
  await setTimeNs([p('times/epoch-zero')], 0n);
  await setTimeNs([p('times/far-future')], 4_102_444_800_000_000_001n);
  await setTimeNs([p('times/link-ns')], 1_600_000_000_987_654_321n);
  await setTimeNs([p(SAME_SIZE_MTIME_PATH)], 1_650_000_000_111_111_111n);

  // Every directory gets a distinct nanosecond mtime, deepest first so that
  // setting a child never disturbs the parent's.
  const allDirs = await listDirs(root);
  allDirs.sort((x, y) => depth(y) - depth(x) || (x < y ? -1 : 1));
  let k = 0n;
  for (const d of allDirs) {
    if (d === 'times/dir-pre-1970') continue;
    k += 1n;
    await setTimeNs(
      [d === '' ? root : p(d)],
      1_500_000_000_000_000_000n + k * 86_400_000_000_000n + k * 7_919n,
    );
  }
  return { skipped: rec.skipped, rootEntries };
}

/** Relative paths of every directory under root, including root itself as ''. */
async function listDirs(root: string): Promise<string[]> {
  const result: string[] = [];
  const queue = [''];
  while (queue.length > 0) {
    const rel = queue.pop() as string;
    result.push(rel);
    for (const ent of await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true })) {
      if (ent.isDirectory()) queue.push(rel === '' ? ent.name : `${rel}/${ent.name}`);
    }
  }
  return result;
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}

// ---------------------------------------------------------------------------
// Mutator

/**
 * Changes a tree made by buildTrickyTree in every way a sync must follow.
 * Exactly one change (SAME_SIZE_MTIME_PATH) keeps size and mtime, so a
 * size+mtime quick check misses it. Two changes move an mtime by nanoseconds
 * only (times/ns, times/dir-pre-1970): a sync comparing mtimes to the second
 * misses those (rsync needs --modify-window=-1).
 */
export async function mutateTree(root: string): Promise<MutateReport> {
  const rec = new Recorder();
  const p = (rel: string): string => join(root, rel);

  // Content edits.
  await appendFile(p('files/append-me.txt'), 'second line\n');
  {
    const fh = await open(p(RANDOM_PATH), 'r+');
    try {
      await fh.write(randomBytes(4096), 0, 4096, 512 * 1024 + 7);
    } finally {
      await fh.close();
    }
  }
  {
    const fh = await open(p(SPARSE_PATH), 'r+');
    try {
      await fh.write(randomBytes(4096), 0, 4096, 24 * 1024 * 1024);
    } finally {
      await fh.close();
    }
  }
  await writeFile(p('root-00020.txt'), 'rewritten root entry\n');
  await writeFile(p(`names/${NEWLINE_NAME}`), 'new content under an odd name\n');

  // Renames.
  await rename(p('rename/old-file'), p('rename/new-file'));
  await rename(p('rename/old-dir'), p('rename/new-dir'));

  // Deletions.
  await unlink(p('delete/file1'));
  await unlink(p('root-00010.txt')).catch(() => undefined);
  await rm(p('delete/subtree'), { recursive: true });

  // Type changes.
  await unlink(p('type-change/file-to-dir'));
  await mkdir(p('type-change/file-to-dir'));
  await writeFile(p('type-change/file-to-dir/now-a-dir'), 'was a file\n');
  await rm(p('type-change/dir-to-symlink'), { recursive: true });
  await symlink('../files', p('type-change/dir-to-symlink'));
  await unlink(p('type-change/symlink-to-file'));
  await writeFile(p('type-change/symlink-to-file'), 'was a symlink\n');

  // Permission, owner, xattr and ACL changes.
  await chmod(p('modes/m0777'), 0o640);
  await chmod(p('modes/setuid-04755'), 0o755);
  await chmod(p('modes/m0640'), 0o4750);
  await chmod(p('modes/sticky-dir-01777'), 0o755);
  await rec.feature(
    'chown',
    async () => {
      await lchown(p('owners/odd-ids'), ODD_GID, ODD_UID);
      await lchown(p('owners/nobody'), 0, 0);
      await lchown(p('files/one-byte'), NOBODY_ID, ODD_GID);
      // chown clears setuid/setgid: restore the mode afterwards.
      await lchown(p('modes/setgid-02755'), ODD_UID, ODD_GID);
      await chmod(p('modes/setgid-02755'), 0o2755);
    },
    { needsRoot: true },
  );
  await rec.feature('user xattrs', async () => {
    await setXattr(p('xattrs/file'), 'user.binary', Buffer.from([0xff, 0x00, 0x00, 0x01]));
    await removeXattr(p('xattrs/file'), 'user.plain');
    await setXattr(p('xattrs/file'), 'user.added', Buffer.from('new'));
    await setXattr(p('xattrs/dir'), 'user.on.dir', Buffer.from('changed'));
    await setXattr(p('files/empty'), 'user.new-on-empty', Buffer.from([1, 2, 3]));
  });
  await rec.feature('POSIX ACLs', async () => {
    await run('setfacl', ['-m', `u:${ODD_UID}:r--`, '-x', `u:${NOBODY_ID}`, '--', p('acl/file')]);
    await run('setfacl', ['-k', '--', p('acl/default-dir')]);
    await run('setfacl', ['-b', '--', p('acl/access-dir')]);
    await run('setfacl', ['-m', `g:${NOBODY_ID}:rw-`, '--', p('files/text.txt')]);
  });

  // Hard links: a new link to an existing file; break the pair by giving
  // one name its own inode with the same content.
  await link(p('hardlinks/solo'), p('other/solo-link'));
  {
    const content = await readFile(p('hardlinks/pair-2'));
    await writeFile(p('hardlinks/pair-2.tmp'), content);
    await rename(p('hardlinks/pair-2.tmp'), p('hardlinks/pair-2'));
  }

  // New entries.
  await writeFile(p('names/tab\tnew'), 'added after the first sync\n');
  await mkdir(p('new-dir/nested'), { recursive: true });
  await writeFile(p('new-dir/nested/file'), 'new\n');

  // Mtime-only changes: whole seconds on one file; within the same second
  // (nanoseconds only) on a file and a directory, which a comparison at
  // one-second precision (rsync's default --modify-window=0) never repairs.
  await setTimeNs([p('times/far-future')], 4_102_444_801_000_000_007n);
  await setTimeNs([p('times/ns')], 1_700_000_000_987_654_321n);
  await setTimeNs([p('times/dir-pre-1970')], -86_400_123_456_000n);

  // Content change that keeps size and mtime: rewrite bytes in place, then
  // restore the exact nanosecond mtime.
  {
    const path = p(SAME_SIZE_MTIME_PATH);
    const before = await lstat(path, { bigint: true });
    const fh = await open(path, 'r+');
    try {
      const buf = Buffer.alloc(64);
      await fh.read(buf, 0, 64, 100);
      for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) ^ 0xa5;
      await fh.write(buf, 0, 64, 100);
    } finally {
      await fh.close();
    }
    await setTimeNs([path], before.mtimeNs);
    const after = await lstat(path, { bigint: true });
    if (after.mtimeNs !== before.mtimeNs || after.size !== before.size) {
      throw new Error(`could not keep size and mtime of ${path}`);
    }
  }
  return { sameSizeMtimePath: SAME_SIZE_MTIME_PATH, skipped: rec.skipped };
}

// ---------------------------------------------------------------------------
// Describer

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface EntryFacts {
  type: EntryType;
  /** Permission and special bits (st_mode & 07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Apparent size; null for directories (their size is filesystem-specific). */
  size: bigint | null;
  /** sha256 hex of the content, regular files only. */
  sha256: string | null;
  /** Symlink target, symlinks only. */
  target: string | null;
  /** Device number, character and block devices only. */
  rdev: bigint | null;
  mtimeNs: bigint;
  atimeNs: bigint;
  /** 512-byte blocks allocated, regular files only. */
  blocks: bigint | null;
  /** Extended attributes other than security.*, system.* and XFS's ACL mirror: name → hex value. */
  xattrs: Record<string, string>;
  /** Extended and default ACL entries (numeric ids), null when the ACL is just the mode. */
  acl: string[] | null;
  /** Sorted paths (within the tree) sharing this inode, when more than one; else null. */
  linkGroup: string[] | null;
}

function entryType(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

async function sha256Stream(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** getfattr/getfacl print names with \ooo octal escapes; returns the raw name as UTF-8. */
function unescapeOctal(latin1: string): string {
  const raw = latin1.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(parseInt(oct, 8)),
  );
  return Buffer.from(raw, 'latin1').toString('utf8');
}

/** Splits getfattr/getfacl -R output into (absolute path, body lines) records. */
function parseRecords(out: Buffer): Array<{ path: string; lines: string[] }> {
  const records: Array<{ path: string; lines: string[] }> = [];
  let cur: { path: string; lines: string[] } | undefined;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = { path: unescapeOctal(line.slice('# file: '.length)), lines: [] };
      records.push(cur);
    } else if (line === '') {
      cur = undefined;
    } else if (cur && !line.startsWith('#')) {
      cur.lines.push(line);
    }
  }
  return records;
}

function relativeTo(root: string, abs: string): string | undefined {
  const base = root.replace(/\/+$/, '');
  if (abs === base) return '';
  if (abs.startsWith(base + '/')) return abs.slice(base.length + 1);
  return undefined;
}

const ignoredXattr = /^(security\.|system\.|trusted\.SGI_ACL_(FILE|DEFAULT)$)/;

async function readXattrs(root: string): Promise<Map<string, Record<string, string>>> {
  const out = await runBuffer('getfattr', [
    '-R',
    '-P',
    '-h',
    '-d',
    '-m',
    '-',
    '-e',
    'hex',
    '--absolute-names',
    '--',
    root,
  ]);
  const result = new Map<string, Record<string, string>>();
  for (const { path, lines } of parseRecords(out)) {
    const rel = relativeTo(root, path);
    if (rel === undefined) continue;
    const attrs: Record<string, string> = {};
    for (const line of lines) {
      const eq = line.indexOf('=');
      const name = unescapeOctal(eq < 0 ? line : line.slice(0, eq));
      if (ignoredXattr.test(name)) continue;
      const value = eq < 0 ? '' : line.slice(eq + 1);
      attrs[name] = value.startsWith('0x') ? value.slice(2).toLowerCase() : value;
    }
    if (Object.keys(attrs).length > 0) result.set(rel, attrs);
  }
  return result;
}

async function readAcls(root: string): Promise<Map<string, string[]>> {
  const out = await runBuffer('getfacl', ['-R', '-P', '-n', '-E', '-p', '--skip-base', '--', root]);
  const result = new Map<string, string[]>();
  for (const { path, lines } of parseRecords(out)) {
    const rel = relativeTo(root, path);
    if (rel === undefined) continue;
    const entries = lines.map((l) => l.trim()).filter((l) => l !== '');
    if (entries.length > 0) result.set(rel, entries);
  }
  return result;
}

function isExcluded(rel: string, exclude: readonly string[]): boolean {
  return exclude.some((e) => rel === e || rel.startsWith(e + '/'));
}

export interface DescribeOptions {
  /** Relative paths to leave out, with everything beneath them (e.g. '.scribe'). */
  exclude?: string[];
  /**
   * The tree was written by rsync --fake-super (an unprivileged receiver):
   * read type, mode, device, owner and ACLs from its user.rsync.* xattrs, as
   * a privileged copy would have them, and drop those xattrs.
   */
  fakeSuper?: boolean;
}

/**
 * Records every fact a faithful copy must reproduce, per path relative to
 * root (the root itself is '').
 */
export async function describeTree(
  root: string,
  opts: DescribeOptions = {},
): Promise<Map<string, EntryFacts>> {
  const exclude = (opts.exclude ?? []).map((e) => e.replace(/^\/+|\/+$/g, ''));
  // getfattr and getfacl walk the tree in child processes while we lstat and
  // hash here. Synchronous fs calls are several times faster than promise
  // ones for tens of thousands of small files; we yield to the event loop
  // every few hundred entries so pipes of child processes keep draining.
  const xattrsP = readXattrs(root);
  const aclsP = readAcls(root);
  xattrsP.catch(() => undefined);
  aclsP.catch(() => undefined);

  const facts = new Map<string, EntryFacts>();
  const inodes = new Map<string, string[]>();
  const queue: string[] = [''];
  let sinceYield = 0;
  while (queue.length > 0) {
    const rel = queue.pop() as string;
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = entryType(st);
    let sha256: string | null = null;
    if (type === 'file') {
      sha256 =
        st.size <= 4n * 1024n * 1024n
          ? createHash('sha256').update(readFileSync(abs)).digest('hex')
          : await sha256Stream(abs);
    }
    facts.set(rel, {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === 'dir' ? null : st.size,
      sha256,
      target:
        type === 'symlink' ? readlinkSync(abs, { encoding: 'buffer' }).toString('utf8') : null,
      rdev: type === 'char' || type === 'block' ? st.rdev : null,
      mtimeNs: st.mtimeNs,
      atimeNs: st.atimeNs,
      blocks: type === 'file' ? st.blocks : null,
      xattrs: {},
      acl: null,
      linkGroup: null,
    });
    if (type === 'dir') {
      for (const name of readdirSync(abs)) {
        const child = rel === '' ? name : `${rel}/${name}`;
        if (!isExcluded(child, exclude)) queue.push(child);
      }
    } else if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const group = inodes.get(key);
      if (group) group.push(rel);
      else inodes.set(key, [rel]);
    }
    if (++sinceYield >= 500) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const [xattrs, acls] = await Promise.all([xattrsP, aclsP]);
  for (const [rel, attrs] of xattrs) {
    const f = facts.get(rel);
    if (f) f.xattrs = attrs;
  }
  for (const [rel, entries] of acls) {
    const f = facts.get(rel);
    if (f) f.acl = entries;
  }
  if (opts.fakeSuper) {
    for (const [rel, f] of facts) applyFakeSuper(f, rel === '' ? root : join(root, rel));
  }
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    const sorted = [...group].sort();
    for (const rel of group) {
      const f = facts.get(rel);
      if (f) f.linkGroup = sorted;
    }
  }
  // Deterministic iteration order.
  return new Map([...facts.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

// rsync --fake-super keeps what an unprivileged receiver cannot set in xattrs:
// user.rsync.%stat = "<octal st_mode> <major>,<minor> <uid>:<gid>", and the
// ACLs as user.rsync.%aacl / %dacl: four little-endian u32 (user_obj,
// group_obj, mask_obj, other_obj; 0x80 = no entry, i.e. from the mode) then
// (id, perms) pairs, perms with bit 31 set for a named user (rsync's own
// format, seen in its acls.c: there is no published spec). Symlinks are
// stored as regular files holding the target; devices and FIFOs as empty files.

const FAKE_STAT = 'user.rsync.%stat';
const FAKE_AACL = 'user.rsync.%aacl';
const FAKE_DACL = 'user.rsync.%dacl';
const ACL_NO_ENTRY = 0x80;
const ACL_NAME_IS_USER = 0x80000000;

function typeFromMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return 'file';
  }
}

/** Linux's dev_t encoding (glibc makedev). */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

function permString(bits: number): string {
  return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
}

/** Decodes an rsync fake-super ACL into getfacl -n -E lines (without a "default:" prefix). */
function decodeFakeAcl(hex: string, mode: number, isDefault: boolean): string[] {
  const buf = Buffer.from(hex, 'hex');
  if (buf.length < 16 || (buf.length - 16) % 8 !== 0) return [`(undecodable ${hex})`];
  const field = (at: number): number | undefined => {
    const v = buf.readUInt32LE(at);
    return v === ACL_NO_ENTRY ? undefined : v & 7;
  };
  const users: Array<[number, number]> = [];
  const groups: Array<[number, number]> = [];
  for (let at = 16; at < buf.length; at += 8) {
    const id = buf.readUInt32LE(at);
    const access = buf.readUInt32LE(at + 4);
    ((access & ACL_NAME_IS_USER) !== 0 ? users : groups).push([id, access & 7]);
  }
  users.sort((x, y) => x[0] - y[0]);
  groups.sort((x, y) => x[0] - y[0]);
  const fromMode = (shift: number): number | undefined =>
    isDefault ? undefined : (mode >> shift) & 7;
  const userObj = field(0) ?? fromMode(6);
  const groupObj = field(4) ?? fromMode(3);
  const named = users.length + groups.length > 0;
  // In an access ACL with a mask, the mode's group bits are the mask. rsync
  // shares one stored ACL between files whose ACLs differ only in masks that
  // equal their modes, so the stored mask may be another file's: trust the mode.
  const maskObj = isDefault ? field(8) : named || field(8) !== undefined ? fromMode(3) : undefined;
  const otherObj = field(12) ?? fromMode(0);
  const lines: string[] = [];
  if (userObj !== undefined) lines.push(`user::${permString(userObj)}`);
  for (const [id, perms] of users) lines.push(`user:${id}:${permString(perms)}`);
  if (groupObj !== undefined) lines.push(`group::${permString(groupObj)}`);
  for (const [id, perms] of groups) lines.push(`group:${id}:${permString(perms)}`);
  if (maskObj !== undefined) lines.push(`mask::${permString(maskObj)}`);
  if (otherObj !== undefined) lines.push(`other::${permString(otherObj)}`);
  return lines;
}

function applyFakeSuper(f: EntryFacts, abs: string): void {
  const stat = f.xattrs[FAKE_STAT];
  if (stat !== undefined) {
    const m = /^([0-7]+) (\d+),(\d+) (\d+):(\d+)$/.exec(
      Buffer.from(stat, 'hex').toString('latin1'),
    );
    if (m) {
      const mode = parseInt(m[1] as string, 8);
      const type = typeFromMode(mode);
      if (type !== f.type && f.type === 'file') {
        if (type === 'symlink') f.target = readFileSync(abs).toString('utf8');
        f.sha256 = null;
        f.blocks = null;
      }
      f.type = type;
      f.mode = mode & 0o7777;
      f.rdev = type === 'char' || type === 'block' ? makedev(Number(m[2]), Number(m[3])) : null;
      f.uid = Number(m[4]);
      f.gid = Number(m[5]);
    }
  }
  const aacl = f.xattrs[FAKE_AACL];
  const dacl = f.xattrs[FAKE_DACL];
  if (aacl !== undefined || dacl !== undefined) {
    // getfacl --skip-base prints the access entries (extended or not) and the
    // default entries, or nothing when both are trivial.
    const access =
      aacl !== undefined
        ? decodeFakeAcl(aacl, f.mode, false)
        : [6, 3, 0].map(
            (shift, i) => `${['user', 'group', 'other'][i]}::${permString((f.mode >> shift) & 7)}`,
          );
    const defaults =
      dacl !== undefined
        ? decodeFakeAcl(dacl, f.mode, true).map((l) => `default:${l}`)
        : (f.acl ?? []).filter((l) => l.startsWith('default:'));
    const extended = access.some((l) => !/^(user|group|other)::/.test(l));
    f.acl = extended || defaults.length > 0 ? [...access, ...defaults] : null;
  }
  for (const name of Object.keys(f.xattrs)) {
    if (name.startsWith('user.rsync.%')) delete f.xattrs[name];
  }
}

// ---------------------------------------------------------------------------
// Comparator

export interface DiffOptions {
  /** Atimes are ignored unless this is explicitly false. */
  ignoreAtimes?: boolean;
  /**
   * For files sparse in `a` (allocated < apparent size), how many 512-byte
   * blocks `b` may allocate beyond `a` before it counts as not sparse.
   * Default 2048 (1 MiB).
   */
  sparseSlackBlocks?: number;
}

export interface TreeDifference {
  path: string;
  field: 'presence' | keyof EntryFacts;
  a: string;
  b: string;
}

function fmtNs(ns: bigint): string {
  const stamp = touchStamp(ns).slice(1);
  const date = new Date(Number(ns / 1_000_000n));
  const iso = Number.isNaN(date.getTime()) ? '?' : date.toISOString();
  return `${stamp} (${iso})`;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}

/** Structured differences between two described trees (a = expected, b = actual). */
export function compareTrees(
  a: Map<string, EntryFacts>,
  b: Map<string, EntryFacts>,
  opts: DiffOptions = {},
): TreeDifference[] {
  const diffs: TreeDifference[] = [];
  const slack = BigInt(opts.sparseSlackBlocks ?? 2048);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const path of paths) {
    const x = a.get(path);
    const y = b.get(path);
    if (!x || !y) {
      diffs.push({ path, field: 'presence', a: x ? x.type : 'missing', b: y ? y.type : 'missing' });
      continue;
    }
    const add = (field: keyof EntryFacts, av: string, bv: string): void => {
      diffs.push({ path, field, a: av, b: bv });
    };
    if (x.type !== y.type) {
      add('type', x.type, y.type);
      continue;
    }
    if (x.mode !== y.mode)
      add('mode', x.mode.toString(8).padStart(4, '0'), y.mode.toString(8).padStart(4, '0'));
    if (x.uid !== y.uid) add('uid', String(x.uid), String(y.uid));
    if (x.gid !== y.gid) add('gid', String(x.gid), String(y.gid));
    if (x.size !== y.size) add('size', fmt(x.size), fmt(y.size));
    if (x.sha256 !== y.sha256) add('sha256', fmt(x.sha256), fmt(y.sha256));
    if (x.target !== y.target) add('target', fmt(x.target), fmt(y.target));
    if (x.rdev !== y.rdev) add('rdev', fmt(x.rdev), fmt(y.rdev));
    if (x.mtimeNs !== y.mtimeNs) add('mtimeNs', fmtNs(x.mtimeNs), fmtNs(y.mtimeNs));
    if (opts.ignoreAtimes === false && x.atimeNs !== y.atimeNs)
      add('atimeNs', fmtNs(x.atimeNs), fmtNs(y.atimeNs));
    for (const name of [...new Set([...Object.keys(x.xattrs), ...Object.keys(y.xattrs)])].sort()) {
      const av = x.xattrs[name];
      const bv = y.xattrs[name];
      if (av !== bv)
        add(
          'xattrs',
          `${name}=${av === undefined ? '(absent)' : '0x' + av}`,
          `${name}=${bv === undefined ? '(absent)' : '0x' + bv}`,
        );
    }
    const aclA = x.acl ? x.acl.join(',') : '(base only)';
    const aclB = y.acl ? y.acl.join(',') : '(base only)';
    if (aclA !== aclB) add('acl', aclA, aclB);
    if (fmt(x.linkGroup) !== fmt(y.linkGroup)) add('linkGroup', fmt(x.linkGroup), fmt(y.linkGroup));
    if (x.type === 'file' && x.blocks !== null && y.blocks !== null && x.size !== null) {
      const sparse = x.blocks * 512n < x.size;
      if (sparse && y.blocks > x.blocks + slack) {
        add(
          'blocks',
          `${x.blocks} blocks (sparse)`,
          `${y.blocks} blocks (allowed ${x.blocks + slack})`,
        );
      }
    }
  }
  return diffs;
}

/** Human-readable differences, one per line; empty when the trees are equal. */
export function diffTrees(
  a: Map<string, EntryFacts>,
  b: Map<string, EntryFacts>,
  opts: DiffOptions = {},
): string[] {
  return compareTrees(a, b, opts).map((d) => {
    const where = d.path === '' ? '(root)' : JSON.stringify(d.path);
    if (d.field === 'presence')
      return `${where}: only in ${d.a === 'missing' ? 'b' : 'a'} (${d.a === 'missing' ? d.b : d.a})`;
    return `${where}: ${d.field} ${d.a} != ${d.b}`;
  });
}
