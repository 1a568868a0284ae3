// Raw bytes of files and block devices, for tests and benchmarks that compare volumes.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** sha256 (hex) of the first `bytes` bytes of a file or block device: devices have no size to stat. */
export async function sha256Of(path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'r');
  const hash = createHash('sha256');
  const buf = Buffer.alloc(4 * 1024 * 1024);
  try {
    for (let at = 0; at < bytes; at += buf.length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bytes - at), at);
      if (bytesRead === 0) throw new Error(`${path} ends at ${at} bytes, before ${bytes}`);
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** Writes `data` at `offset` of a file or block device and flushes it, as an application's page write. */
export async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
