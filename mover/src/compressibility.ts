import { closeSync, openSync, readSync } from 'node:fs';
import { zstdCompressSync, constants } from 'node:zlib';
import type { VolumeSurvey } from './survey.ts';

export interface SampledFile {
  size: number;
  /** Compressed length over sampled length, 0..1+. */
  ratio: number;
}

/**
 * Share of the bytes that compression would save, weighting each sampled
 * file by its size: big files decide what crosses the wire.
 */
export function estimatedSaving(samples: SampledFile[]): number {
  const total = samples.reduce((n, s) => n + s.size, 0);
  if (total === 0) return 0;
  return samples.reduce((n, s) => n + s.size * Math.max(0, 1 - s.ratio), 0) / total;
}

/** Compression pays when it saves a tenth of the bytes; below that it only costs CPU. */
export function compressionPays(saving: number): boolean {
  return saving >= 0.1;
}

const sampleBytes = 64 * 1024;

/**
 * Samples the files a survey saw (survey.ts): the largest and an even
 * spread of the rest, 64 KiB from the middle of each. Synchronous on
 * purpose: it is a short, bounded step before the transfer.
 */
export function sampleCompressibility(
  seen: VolumeSurvey['files'],
  limits = { largest: 32, spread: 32 },
): SampledFile[] {
  const files = [...seen];
  files.sort((a, b) => b.size - a.size);
  const largest = files.slice(0, limits.largest);
  const rest = files.slice(limits.largest);
  const step = Math.max(1, Math.floor(rest.length / limits.spread));
  const chosen = [...largest, ...rest.filter((_, i) => i % step === 0).slice(0, limits.spread)];
  const samples: SampledFile[] = [];
  const buf = Buffer.allocUnsafe(sampleBytes);
  for (const f of chosen) {
    let fd: number;
    try {
      fd = openSync(f.path, 'r');
    } catch {
      continue;
    }
    try {
      const at = Math.max(0, Math.floor(f.size / 2) - sampleBytes / 2);
      const read = readSync(fd, buf, 0, Math.min(sampleBytes, f.size), at);
      if (!read) continue;
      const packed = zstdCompressSync(buf.subarray(0, read), {
        params: { [constants.ZSTD_c_compressionLevel]: 1 },
      });
      samples.push({ size: f.size, ratio: packed.length / read });
    } finally {
      closeSync(fd);
    }
  }
  return samples;
}
