import { opendir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { zstdCompressSync, constants } from 'node:zlib';

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

/** Samples a bounded part of the tree: the largest files seen and an even spread of the rest. */
export async function sampleCompressibility(
  root: string,
  limits = { entries: 5000, largest: 48, spread: 48 },
): Promise<SampledFile[]> {
  const files: { path: string; size: number }[] = [];
  const queue = [root];
  let seen = 0;
  while (queue.length && seen < limits.entries) {
    const dir = queue.shift()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      continue;
    }
    for await (const entry of handle) {
      if (++seen > limits.entries) break;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) queue.push(path);
      else if (entry.isFile()) files.push({ path, size: 0 });
    }
  }
  const sized = await Promise.all(
    files.map(async (f) => {
      const fh = await open(f.path, 'r').catch(() => undefined);
      if (!fh) return f;
      try {
        return { ...f, size: (await fh.stat()).size, fh: undefined };
      } finally {
        await fh.close();
      }
    }),
  );
  sized.sort((a, b) => b.size - a.size);
  const largest = sized.slice(0, limits.largest);
  const rest = sized.slice(limits.largest);
  const step = Math.max(1, Math.floor(rest.length / limits.spread));
  const chosen = [...largest, ...rest.filter((_, i) => i % step === 0).slice(0, limits.spread)];
  const samples: SampledFile[] = [];
  const buf = Buffer.allocUnsafe(sampleBytes);
  for (const f of chosen) {
    if (f.size === 0) continue;
    const fh = await open(f.path, 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      const at = Math.max(0, Math.floor(f.size / 2) - sampleBytes / 2);
      const { bytesRead } = await fh.read(buf, 0, Math.min(sampleBytes, f.size), at);
      if (!bytesRead) continue;
      const packed = zstdCompressSync(buf.subarray(0, bytesRead), {
        params: { [constants.ZSTD_c_compressionLevel]: 1 },
      });
      samples.push({ size: f.size, ratio: packed.length / bytesRead });
    } finally {
      await fh.close();
    }
  }
  return samples;
}
