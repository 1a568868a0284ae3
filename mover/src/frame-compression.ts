// Whether a block volume's data frames go compressed. The block protocol has
// no sampling pass as rsync's file transfers do (compressibility.ts), so the
// sender learns from the frames themselves.
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

export type FrameCompression = 'auto' | 'always' | 'never';

/** A frame goes compressed only if that saves a tenth of it. */
const worthIt = 0.9;
/** Frames below this are not worth a zstd call. */
const minLength = 512;
/** The longest run of frames `auto` sends raw without trying again. */
const maxSkip = 32;

/**
 * `auto` tries zstd (level 3) on each frame; after a frame that does not
 * shrink it skips the next 1, 2, 4 ... up to 32 frames before trying again,
 * and a frame that shrinks starts it over. Incompressible data then costs one
 * zstd call in 33 frames; compressible data in a volume of mostly
 * incompressible data is found again within 32 frames (2 MiB at 64 KiB).
 * `always` tries every frame; `never` none.
 */
export class FrameCompressor {
  private skip = 0;
  private backoff = 0;
  private readonly mode: FrameCompression;
  constructor(mode: FrameCompression) {
    this.mode = mode;
  }

  /** The frame's data compressed, or undefined to send it as it is. */
  compress(data: Buffer): Buffer | undefined {
    if (this.mode === 'never' || data.length < minLength) return undefined;
    if (this.mode === 'auto' && this.skip > 0) {
      this.skip--;
      return undefined;
    }
    const z = zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
    if (z.length <= data.length * worthIt) {
      this.backoff = 0;
      return z;
    }
    this.backoff = Math.min(maxSkip, Math.max(1, this.backoff * 2));
    this.skip = this.backoff;
    return undefined;
  }
}

/** The frame's data, exactly `length` bytes, or an error: never more than `length` is inflated. */
export function decompressFrame(z: Buffer, length: number): Buffer {
  let out: Buffer;
  try {
    out = zstdDecompressSync(z, { maxOutputLength: Math.max(1, length) });
  } catch (err) {
    throw new Error(
      `a compressed block frame does not inflate to its ${length} bytes: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (out.length !== length) {
    throw new Error(`a compressed block frame inflates to ${out.length} bytes, not ${length}`);
  }
  return out;
}
