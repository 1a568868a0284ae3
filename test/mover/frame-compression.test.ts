import { randomBytes } from 'node:crypto';
import { zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressFrame, FrameCompressor } from '../../mover/src/frame-compression.ts';

const text = Buffer.from('GET /api/v1/items 200 12ms user=alice\n'.repeat(2000)).subarray(0, 65536);

/** Which of `frames` the compressor compressed, as a string of c (compressed) and - (sent raw). */
function pattern(c: FrameCompressor, frames: Buffer[]): string {
  return frames.map((f) => (c.compress(f) ? 'c' : '-')).join('');
}

describe('FrameCompressor', () => {
  it('compresses what shrinks, and round-trips it', () => {
    const z = new FrameCompressor('auto').compress(text)!;
    expect(z.length).toBeLessThan(text.length / 10);
    expect(decompressFrame(z, text.length).equals(text)).toBe(true);
  });

  it('auto backs off over incompressible frames, 1, 2, 4 ... frames at a time, and starts over on a frame that shrinks', () => {
    const c = new FrameCompressor('auto');
    const rnd = randomBytes(65536);
    // After a failure the next frame is skipped even if it would shrink ...
    expect(pattern(c, [rnd, text, text])).toBe('-' + '-' + 'c');
    // ... and a frame that shrinks resets the backoff.
    expect(pattern(c, [rnd, text, text, text])).toBe('--cc');
    // Backoff doubles: fail, skip 1; fail, skip 2; fail, skip 4.
    const d = new FrameCompressor('auto');
    const frames = [rnd, text, rnd, text, text, rnd, text, text, text, text, text];
    expect(pattern(d, frames)).toBe('-' + '-' + '-' + '--' + '-' + '----' + 'c');
  });

  it('caps the backoff at 32 frames', () => {
    const c = new FrameCompressor('auto');
    const rnd = randomBytes(4096);
    for (let i = 0; i < 500; i++) c.compress(rnd);
    // Whatever the phase, a compressible frame is found within 33 frames.
    const found = pattern(
      c,
      Array.from({ length: 33 }, () => text),
    ).indexOf('c');
    expect(found).toBeGreaterThanOrEqual(0);
    expect(found).toBeLessThanOrEqual(32);
  });

  it('always tries every frame; never tries none; tiny frames are not tried', () => {
    const rnd = randomBytes(65536);
    expect(pattern(new FrameCompressor('always'), [rnd, text, rnd, text])).toBe('-c-c');
    expect(pattern(new FrameCompressor('never'), [text, text])).toBe('--');
    expect(new FrameCompressor('always').compress(Buffer.alloc(100))).toBeUndefined();
  });
});

describe('decompressFrame', () => {
  it('refuses a frame that inflates past its length, without inflating it all', () => {
    const bomb = zstdCompressSync(Buffer.alloc(64 * 1024 * 1024));
    expect(() => decompressFrame(bomb, 4096)).toThrow(/does not inflate to its 4096 bytes/);
  });

  it('refuses a frame that inflates to less than its length', () => {
    const z = zstdCompressSync(Buffer.alloc(1000));
    expect(() => decompressFrame(z, 4096)).toThrow('inflates to 1000 bytes, not 4096');
  });

  it('refuses what is not zstd', () => {
    expect(() => decompressFrame(randomBytes(100), 4096)).toThrow(/does not inflate/);
  });
});
