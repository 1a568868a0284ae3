import { describe, expect, it } from 'vitest';
import { receiverCommand, senderArgs } from '../../mover/src/rsync-args.ts';

const policy = { volume: '/data', fakeSuper: false, ioTimeoutSeconds: 120 };

describe('receiverCommand', () => {
  it('runs the receiving server in the volume whatever destination was asked for', () => {
    const { argv } = receiverCommand(
      'rsync --server -lHogDtpAXrcSe.iLsfxCIvu --compress-level=1 -B8192 --timeout=60 --compress-choice=zstd --delete --stats --numeric-ids . /etc/',
      policy,
    );
    expect(argv.slice(-2)).toEqual(['.', '.']);
    expect(argv).toContain('--partial-dir=/data/.scribe/partial');
    expect(argv).toContain('--timeout=120');
    expect(argv).not.toContain('--timeout=60');
    expect(argv.join(' ')).not.toContain('/etc');
  });

  it('stores what it cannot apply as xattrs when not root', () => {
    const { argv } = receiverCommand('rsync --server -logDtpre.iLsfxC . .', {
      ...policy,
      fakeSuper: true,
    });
    expect(argv).toContain('--fake-super');
  });

  it.each([
    ['rsync --server --sender -logDtpre.iLsfxC . /etc/passwd', /--sender is not allowed/],
    ['rsync --server -logDtpRe.iLsfxC . .', /-R is not allowed/],
    ['rsync --server -logDtpKe.iLsfxC . .', /-K is not allowed/],
    ['rsync --server -logDtpLe.iLsfxC . .', /-L is not allowed/],
    [
      'rsync --server -logDtpe.iLsfxC --rsync-path=/bin/sh . .',
      /--rsync-path=\/bin\/sh is not allowed/,
    ],
    ['rsync --server -logDtpe.iLsfxC --link-dest=/etc . .', /--link-dest=\/etc is not allowed/],
    ['rsync --server -logDtpe.iLsfxC --files-from=/etc/shadow . .', /not allowed/],
    ['rsync --server -logDtpe.iLsfxC --temp-dir=/tmp . .', /not allowed/],
    ['sh -c "rm -rf /"', /only the rsync receiving server/],
    ['rsync --daemon .', /only the rsync receiving server/],
    ['rsync --server . .', /malformed/],
  ])('refuses %s', (command, reason) => {
    expect(() => receiverCommand(command, policy)).toThrow(reason);
  });
});

describe('senderArgs', () => {
  const base = {
    source: '/vol/',
    rsh: "'node' 'rsh'",
    checksum: false,
    compression: 'zstd' as const,
    sparse: true,
    ioTimeoutSeconds: 60,
    progress: false,
  };

  it('preserves everything rsync -aAHSX --numeric-ids does and deletes what the source deleted', () => {
    const args = senderArgs(base);
    expect(args.slice(0, 3)).toEqual(['-aAHSX', '--numeric-ids', '--delete']);
    expect(args.slice(-2)).toEqual(['/vol/', 'scribe:.']);
    expect(args).toContain('--filter=- /.scribe/');
  });

  it('compresses with zstd when told to, and not otherwise', () => {
    expect(senderArgs(base)).toContain('--compress-choice=zstd');
    expect(senderArgs({ ...base, compression: 'none' }).join(' ')).not.toContain('compress');
  });

  it('asks for -S only when told to, and the receiver accepts either', () => {
    expect(senderArgs(base)[0]).toBe('-aAHSX');
    expect(senderArgs({ ...base, sparse: false })[0]).toBe('-aAHX');
    for (const cluster of ['-lHogDtpAXrSe.iLsfxCIvu', '-lHogDtpAXre.iLsfxCIvu'])
      expect(receiverCommand(`rsync --server ${cluster} --numeric-ids . .`, policy).argv).toContain(
        cluster,
      );
  });

  it('uses 2 KiB blocks, 4 KiB where -S makes rsync write each matched block on its own', () => {
    expect(senderArgs({ ...base, sparse: false })).toContain('--block-size=2048');
    expect(senderArgs({ ...base, sparse: true })).toContain('--block-size=4096');
  });

  it('keeps incremental recursion unless told to send the file list in one piece', () => {
    expect(senderArgs(base)).not.toContain('--no-inc-recursive');
    expect(senderArgs({ ...base, incrementalRecursion: false })).toContain('--no-inc-recursive');
  });

  it('adds a checksum pass and a block size when asked', () => {
    const args = senderArgs({ ...base, sparse: false, checksum: true, blockSize: 8192 });
    expect(args).toContain('--checksum');
    expect(args).toContain('--block-size=8192');
  });

  it('produces a command line the receiver accepts', () => {
    // Mirrors what rsync itself sends for these options (captured from rsync 3.2+).
    const { argv } = receiverCommand(
      'rsync --server -lHogDtpAXrcSe.iLsfxCIvu --compress-level=1 --timeout=60 --compress-choice=zstd --delete --info=STATS2 --stats --numeric-ids . .',
      policy,
    );
    expect(argv[0]).toBe('--server');
  });
});
