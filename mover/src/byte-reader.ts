import type { Readable } from 'node:stream';

/** Reads exact byte counts and lines from a stream: the framing of the block protocol. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(stream: Readable) {
    stream.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('close', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (err: Error) => {
      this.error = err;
      this.notify();
    });
  }

  /** Ends every wait now, and each later read, with `err`. */
  fail(err: Error): void {
    this.error ??= err;
    this.notify();
  }

  private notify() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n) {
      if (this.error) throw this.error;
      if (this.ended) throw new Error('the connection closed in the middle of the transfer');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  // Copies only what is taken: concatenating everything buffered on every read
  // made reading many small frames out of a large backlog quadratic.
  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const chunk = this.chunks[0]!;
        const used = Math.min(chunk.length, n - at);
        chunk.copy(out, at, 0, used);
        at += used;
        if (used === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(used);
      }
    }
    this.buffered -= n;
    return out;
  }

  async readExact(n: number): Promise<Buffer> {
    await this.fill(n);
    return this.take(n);
  }

  async readLine(max = 64 * 1024): Promise<string> {
    for (;;) {
      let seen = 0;
      for (const chunk of this.chunks) {
        const nl = chunk.indexOf(10);
        if (nl >= 0 && seen + nl <= max) {
          return this.take(seen + nl + 1).toString('utf8', 0, seen + nl);
        }
        seen += nl >= 0 ? nl : chunk.length;
        if (seen > max) throw new Error('protocol line too long');
      }
      await this.fill(this.buffered + 1);
    }
  }
}
