// What the sender asks rsync to do, and what the receiver lets it do. Both
// sides are pure so the allowlist is tested without a connection.

/** Marks the receiver's policy refusals so the sender does not retry them. */
export const refusedPrefix = 'refused:';

/** The receiver's reserved directory at the volume root: completion marker, partial files. */
export const stateDirName = '.scribe';

/** Where rsync keeps what an interrupted transfer had of a file, so the next run resumes it. */
export function partialDir(volume: string): string {
  return `${volume.replace(/\/+$/, '')}/${stateDirName}/partial`;
}

/**
 * rsync's own block size grows with the square root of the file (23 KiB for
 * 512 MiB), so each scattered 4 KiB page write costs ~6x its size in literal
 * data. Smaller blocks send less literal data but more checksums (8 bytes a
 * block from the receiver) and more block-match tokens. On a 512 MiB file
 * with 1% scattered, unaligned 4 KiB writes, rsync's streams carried, as a
 * share of the baseline's: 0.35 at 4 KiB and 0.31 at 2 KiB uncompressed,
 * 0.33 and 0.29 with zstd's token encoding (sender.ts, isResync),
 * 0.29 at 1.5 KiB and 0.31 at 1 KiB (checksums outgrow the saving). With -S,
 * though, rsync's receiver issues one write per matched block (16,410 writes
 * for a 32 MiB file at 2 KiB, 155 without -S), and 2 KiB took 1.11-1.58x the
 * baseline's time against 0.93-1.09x at 4 KiB (bench/mover, 2026-12-06): so
 * 2 KiB, and 4 KiB where -S is on (survey.ts asks for it where there are
 * holes).
 */
export const defaultFileBlockSize = 2048;
export const sparseFileBlockSize = 4096;

export type Compression = 'auto' | 'always' | 'never';

/** What the sender settled on: compress or not. */
export type WireCompression = 'zstd' | 'none';

export interface SenderOptions {
  source: string;
  rsh: string;
  checksum: boolean;
  compression: WireCompression;
  /** rsync -S: runs of zeros become holes (survey.ts decides when). */
  sparse: boolean;
  /** rsync's default; false sends the file list in one piece (sender.ts, isResync). */
  incrementalRecursion?: boolean;
  blockSize?: number;
  ioTimeoutSeconds: number;
  progress: boolean;
}

/**
 * rsync -aAHSX --numeric-ids preserves content, sparseness, hard links,
 * symlinks, permissions, owners, xattrs, ACLs, times, devices and FIFOs.
 * Compression (zstd) and -S are decided by the caller: by default the sender
 * compresses where sampling says it pays (compressibility.ts) and asks for
 * -S where the volume has holes (survey.ts).
 */
export function senderArgs(o: SenderOptions): string[] {
  // --modify-window=-1 compares mtimes to the nanosecond; rsync's default
  // compares whole seconds and misses sub-second changes for good.
  // Incremental recursion (rsync's default) is on for a first sync: the
  // transfer starts while the file list is still being built (measured in
  // bench/mover on 20,000 small files, full sync 1.45-1.87x the baseline's
  // wall with the list sent in one piece, 1.07-1.15x with incremental
  // recursion); the sender turns it off for resyncs of big trees.
  const args = [o.sparse ? '-aAHSX' : '-aAHX', '--numeric-ids', '--delete', '--modify-window=-1'];
  if (o.incrementalRecursion === false) args.push('--no-inc-recursive');
  args.push(`--filter=- /${stateDirName}/`);
  if (o.checksum) args.push('--checksum');
  if (o.compression === 'zstd') {
    args.push('--compress', '--compress-choice=zstd', '--compress-level=3');
  }
  args.push(
    `--block-size=${o.blockSize ?? (o.sparse ? sparseFileBlockSize : defaultFileBlockSize)}`,
  );
  args.push(`--timeout=${o.ioTimeoutSeconds}`, '--stats');
  // Unbuffered: into a pipe, rsync's stdio would hold progress back in 4 KiB lumps.
  if (o.progress) args.push('--info=progress2,stats2', '--outbuf=N');
  else args.push('--info=stats2');
  args.push('-e', o.rsh);
  // A trailing slash syncs the directory's contents: no glob, so no
  // "argument list too long" however many entries the root holds.
  args.push(`${o.source.replace(/\/+$/, '')}/`, 'scribe:.');
  return args;
}

// Short options the receiver accepts from a sender. Anything that could make
// the receiver follow links out of the volume (-K, -L, -k), write elsewhere
// (-R, -b) or read and send (--sender) is absent.
const allowedShort = new Set('lHogDtpAXrcSzvxWIn'.split(''));
const allowedLong: RegExp[] = [
  /^--delete(-during|-delay|-after|-before)?$/,
  /^--numeric-ids$/,
  /^--stats$/,
  /^-@-?\d{1,3}$/,
  /^--modify-window=-?\d{1,3}$/,
  /^--info=[A-Za-z0-9,]{1,64}$/,
  /^--timeout=\d{1,5}$/,
  /^-B\d{1,8}$/,
  /^--block-size=\d{1,8}$/,
  /^--compress-level=\d{1,2}$/,
  /^--compress-choice=(zstd|lz4|zlibx|zlib|none)$/,
  /^--checksum-choice=(xxh128|xxh3|xxh64|md5|md4|sha1)(,(xxh128|xxh3|xxh64|md5|md4|sha1))?$/,
  /^--checksum-seed=\d{1,10}$/,
];

export interface ServerCommand {
  argv: string[];
}

export interface ReceiverPolicy {
  volume: string;
  fakeSuper: boolean;
  ioTimeoutSeconds: number;
}

/**
 * Turns the command a sender asked to exec into the only rsync the receiver
 * runs: the receiving server, in the volume, with the volume as destination
 * whatever path was asked for. Throws with the reason on anything else.
 */
export function receiverCommand(command: string, policy: ReceiverPolicy): ServerCommand {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'rsync' || words[1] !== '--server') {
    throw new Error('only the rsync receiving server may be run here');
  }
  const opts = words.slice(2, -2);
  const [dot] = words.slice(-2);
  if (dot !== '.' || words.length < 5) throw new Error('malformed rsync server command');
  const kept: string[] = [];
  let sawCluster = false;
  for (const opt of opts) {
    if (/^-[a-zA-Z]+(e[.a-zA-Z]*)?$/.test(opt) && !opt.startsWith('--')) {
      const [flags = ''] = opt.slice(1).split('e', 1);
      for (const f of flags) {
        if (!allowedShort.has(f))
          throw new Error(`rsync option -${f} is not allowed by this receiver`);
      }
      sawCluster = true;
      kept.push(opt);
    } else if (allowedLong.some((re) => re.test(opt))) {
      if (!opt.startsWith('--timeout=')) kept.push(opt);
    } else {
      throw new Error(`rsync option ${opt} is not allowed by this receiver`);
    }
  }
  if (!sawCluster) throw new Error('malformed rsync server command: no option cluster');
  const argv = ['--server', ...kept, `--timeout=${policy.ioTimeoutSeconds}`];
  argv.push(`--filter=- /${stateDirName}/***`);
  argv.push(`--partial-dir=${partialDir(policy.volume)}`);
  if (policy.fakeSuper) argv.push('--fake-super');
  argv.push('.', '.');
  return { argv };
}
