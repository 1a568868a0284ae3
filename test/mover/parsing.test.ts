import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../mover/src/backoff.ts';
import {
  compressionPays,
  estimatedSaving,
  sampleCompressibility,
} from '../../mover/src/compressibility.ts';
import { surveyVolume } from '../../mover/src/survey.ts';
import { formatEndpoint, parseEndpoint } from '../../mover/src/endpoint.ts';
import {
  blockProgress,
  destinationFull,
  isRetryableExit,
  parseProgress,
  parseStats,
} from '../../mover/src/rsync-output.ts';

describe('parseEndpoint', () => {
  it('reads host:port and bracketed IPv6', () => {
    expect(parseEndpoint('10.0.0.5:2222')).toEqual({ host: '10.0.0.5', port: 2222 });
    expect(parseEndpoint('[::1]:2222')).toEqual({ host: '::1', port: 2222 });
    expect(parseEndpoint('mover.ns.svc:22')).toEqual({ host: 'mover.ns.svc', port: 22 });
    expect(formatEndpoint({ host: '::1', port: 22 })).toBe('[::1]:22');
  });

  it.each(['::1:22', 'host', 'host:99999', ':22', 'host:port'])(
    'rejects %s with the valid forms',
    (bad) => {
      expect(() => parseEndpoint(bad)).toThrow(/expected HOST:PORT, e.g./);
    },
  );
});

describe('rsync output', () => {
  const stats = `
Number of files: 20,017 (reg: 20,009, dir: 5, link: 3)
Number of created files: 2 (reg: 2)
Number of deleted files: 1 (reg: 1)
Number of regular files transferred: 2
Total file size: 1,049,093 bytes
Total transferred file size: 1,048,582 bytes
Literal data: 1,048,582 bytes
Matched data: 0 bytes
File list size: 65,536
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 1,052,120
Total bytes received: 57
`;
  it('reads --stats', () => {
    expect(parseStats(stats)).toEqual({
      files: 20017,
      filesTransferred: 2,
      deleted: 1,
      totalSize: 1049093,
      literalBytes: 1048582,
      matchedBytes: 0,
      sentBytes: 1052120,
      receivedBytes: 57,
    });
    expect(parseStats('rsync error: some files could not be transferred')).toBeUndefined();
  });

  it('reads --info=progress2 lines', () => {
    expect(
      parseProgress('    1,234,567  12%   10.00MB/s    0:00:12 (xfr#3, to-chk=10/100)'),
    ).toEqual({
      bytes: 1234567,
      percent: 12,
      rate: '10.00MB/s',
      files: 3,
      toCheck: 10,
      total: 100,
    });
    expect(parseProgress('          0   0%    0.00kB/s    0:00:00')).toMatchObject({
      bytes: 0,
      files: 0,
    });
    expect(parseProgress('sending incremental file list')).toBeUndefined();
  });

  it('puts a block transfer in the same shape, whole when the volume is compared', () => {
    expect(blockProgress(50_000_000, 200_000_000, 4096, 2)).toEqual({
      bytes: 50_000_000,
      percent: 25,
      rate: '25.00MB/s',
      files: 0,
      sent: 4096,
    });
    expect(blockProgress(200_000_000, 200_000_000, 0, 0)).toMatchObject({
      percent: 100,
      rate: '0.00MB/s',
      files: 1,
    });
  });

  it('retries link failures, not data or usage errors', () => {
    expect(isRetryableExit(12)).toBe(true);
    expect(isRetryableExit(30)).toBe(true);
    expect(isRetryableExit(255)).toBe(true);
    expect(isRetryableExit(1)).toBe(false);
    expect(isRetryableExit(23)).toBe(false);
  });
});

describe('destinationFull', () => {
  it("tells the receiver's ENOSPC and EDQUOT from other I/O errors", () => {
    expect(
      destinationFull(
        'rsync: [receiver] write failed on "/data/big": No space left on device (28)\nrsync error: error in file IO (code 11) at receiver.c(657) [receiver=3.5.0]\n',
      ),
    ).toBe(true);
    expect(
      destinationFull('rsync: [generator] mkdir "/data/d" failed: Disk quota exceeded (122)\n'),
    ).toBe(true);
    // The source side's trouble is not the destination's.
    expect(
      destinationFull('rsync: [sender] read errors mapping "/v/x": No space left on device (28)'),
    ).toBe(false);
    expect(
      destinationFull('rsync: [receiver] write failed on "/data/x": Input/output error (5)'),
    ).toBe(false);
  });
});

describe('backoffDelayMs', () => {
  it('doubles up to the cap', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, 1000, 30000, top))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffDelayMs(3, 1000, 30000, () => 0)).toBe(2000);
  });
});

describe('compression decision', () => {
  it('weights files by size, so one big incompressible file outvotes many small texts', () => {
    const samples = [
      { size: 1_000_000_000, ratio: 1.0 },
      ...Array.from({ length: 100 }, () => ({ size: 10_000, ratio: 0.3 })),
    ];
    expect(compressionPays(estimatedSaving(samples))).toBe(false);
    expect(
      compressionPays(
        estimatedSaving([
          { size: 100, ratio: 0.5 },
          { size: 100, ratio: 1 },
        ]),
      ),
    ).toBe(true);
    expect(estimatedSaving([])).toBe(0);
  });

  it('samples real files: random data does not pay, text does', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { randomBytes } = await import('node:crypto');
    const dir = await mkdtemp(join(tmpdir(), 'scribe-compress-'));
    try {
      await writeFile(join(dir, 'random.bin'), randomBytes(512 * 1024));
      expect(compressionPays(estimatedSaving(sampleCompressibility(surveyVolume(dir).files)))).toBe(
        false,
      );
      await writeFile(join(dir, 'log.txt'), 'GET /index.html 200 OK\n'.repeat(200_000));
      expect(compressionPays(estimatedSaving(sampleCompressibility(surveyVolume(dir).files)))).toBe(
        true,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
