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

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  async readExact(n: number): Promise<Buffer> {
    await this.fill(n);
    return this.take(n);
  }

  async readLine(max = 64 * 1024): Promise<string> {
    for (;;) {
      const all = Buffer.concat(this.chunks);
      this.chunks = all.length ? [all] : [];
      const nl = all.indexOf(10);
      if (nl >= 0) return this.take(nl + 1).toString('utf8', 0, nl);
      if (all.length > max) throw new Error('protocol line too long');
      await this.fill(all.length + 1);
    }
  }
}
