// Block volumes: rsync cannot sync a device's contents, so both ends hash
// fixed-size blocks over one SSH channel and only differing blocks cross.
//
// sender   -> receiver: {"v":1,"size":N,"blockSize":B}\n
// receiver -> sender:   {"ok":true,"size":D}\n, then one sha256 per block
// sender   -> receiver: frames [u32 index][u32 length][data]...,
//                       then [0xffffffff][32][sha256 of all block hashes]
// receiver -> sender:   {"ok":true,...}\n after flush and re-read verify
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { ByteReader } from './byte-reader.ts';
import type { Logger } from './log.ts';
import { blockVolumeSize } from './volume.ts';

export const defaultBlockSize = 64 * 1024;
const hashLength = 32;
const endIndex = 0xffffffff;
const readBatchBlocks = 64;

export interface BlockResult {
  blocks: number;
  blocksSent: number;
  bytesSent: number;
  size: number;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

async function write(stream: Writable, data: Buffer): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** Yields each block of the first `size` bytes with its hash, reading in large batches. */
async function* blocksOf(fh: FileHandle, size: number, blockSize: number) {
  const batch = Buffer.allocUnsafe(blockSize * readBatchBlocks);
  for (let offset = 0; offset < size; offset += batch.length) {
    const want = Math.min(batch.length, size - offset);
    const { bytesRead } = await fh.read(batch, 0, want, offset);
    if (bytesRead !== want) throw new Error(`short read at offset ${offset}`);
    for (let at = 0; at < want; at += blockSize) {
      const data = batch.subarray(at, Math.min(at + blockSize, want));
      yield { index: (offset + at) / blockSize, data, hash: sha256(data) };
    }
  }
}

export async function sendBlocks(
  channel: Readable & Writable,
  path: string,
  blockSize = defaultBlockSize,
): Promise<BlockResult> {
  const size = await blockVolumeSize(path);
  // A just-attached device can report 0 bytes for a moment; copying "nothing"
  // and committing would record a complete sync that is not one, so fail
  // this attempt (the sender retries).
  if (size === 0) throw new Error(`source block volume "${path}" reports a size of 0 bytes`);
  const reader = new ByteReader(channel);
  await write(channel, Buffer.from(`${JSON.stringify({ v: 1, size, blockSize })}\n`));
  const hello = JSON.parse(await reader.readLine()) as { ok: boolean; error?: string };
  if (!hello.ok) throw new Error(hello.error ?? 'the receiver refused the block transfer');
  const fh = await open(path, 'r');
  const all = createHash('sha256');
  let blocks = 0;
  let blocksSent = 0;
  let bytesSent = 0;
  try {
    for await (const b of blocksOf(fh, size, blockSize)) {
      all.update(b.hash);
      blocks++;
      const theirs = await reader.readExact(hashLength);
      if (theirs.equals(b.hash)) continue;
      const header = Buffer.alloc(8);
      header.writeUInt32BE(b.index, 0);
      header.writeUInt32BE(b.data.length, 4);
      await write(channel, header);
      await write(channel, Buffer.from(b.data));
      blocksSent++;
      bytesSent += b.data.length;
    }
  } finally {
    await fh.close();
  }
  const end = Buffer.alloc(8);
  end.writeUInt32BE(endIndex, 0);
  end.writeUInt32BE(hashLength, 4);
  await write(channel, Buffer.concat([end, all.digest()]));
  const result = JSON.parse(await reader.readLine()) as { ok: boolean; error?: string };
  if (!result.ok) throw new Error(result.error ?? 'the receiver could not verify the volume');
  return { blocks, blocksSent, bytesSent, size };
}

export async function receiveBlocks(
  channel: Readable & Writable,
  path: string,
  signal: AbortSignal,
  log: Logger,
): Promise<BlockResult> {
  const reader = new ByteReader(channel);
  const refuse = async (error: string): Promise<never> => {
    await write(channel, Buffer.from(`${JSON.stringify({ ok: false, error })}\n`));
    throw new Error(error);
  };
  const header = JSON.parse(await reader.readLine()) as {
    v: number;
    size: number;
    blockSize: number;
  };
  if (header.v !== 1 || !(header.blockSize > 0) || !(header.size >= 0)) {
    return refuse('unsupported block protocol header');
  }
  const { size, blockSize } = header;
  const destSize = await blockVolumeSize(path);
  if (destSize < size) {
    return refuse(
      `the destination volume is smaller than the source (${destSize} < ${size} bytes): ` +
        'give the destination PVC at least the source capacity',
    );
  }
  await write(channel, Buffer.from(`${JSON.stringify({ ok: true, size: destSize })}\n`));
  const fh = await open(path, 'r+');
  const hashes: Buffer[] = [];
  const written = new Set<number>();
  try {
    // Hashes go out while frames come in: the sender compares as it reads.
    const sendHashes = (async () => {
      for await (const b of blocksOf(fh, size, blockSize)) {
        if (signal.aborted) throw new Error('aborted');
        hashes[b.index] = b.hash;
        await write(channel, b.hash);
      }
    })();
    let digest: Buffer | undefined;
    let bytes = 0;
    while (!digest) {
      if (signal.aborted) throw new Error('aborted');
      const frame = await reader.readExact(8);
      const index = frame.readUInt32BE(0);
      const length = frame.readUInt32BE(4);
      if (index === endIndex) {
        digest = await reader.readExact(length);
        break;
      }
      const offset = index * blockSize;
      if (length > blockSize || offset + length > size) return refuse('block frame out of range');
      const data = await reader.readExact(length);
      await fh.write(data, 0, length, offset);
      written.add(index);
      bytes += length;
    }
    await sendHashes;
    await fh.sync();
    // Verify what is on the device now, not what was received.
    const check = Buffer.allocUnsafe(blockSize);
    for (const index of written) {
      const length = Math.min(blockSize, size - index * blockSize);
      await fh.read(check, 0, length, index * blockSize);
      hashes[index] = sha256(check.subarray(0, length));
    }
    const all = createHash('sha256');
    for (const h of hashes) all.update(h);
    if (!all.digest().equals(digest))
      return refuse('the destination does not match the source after the transfer');
    const result = { blocks: hashes.length, blocksSent: written.size, bytesSent: bytes, size };
    log.debug(result, 'block volume verified');
    return result;
  } finally {
    await fh.close();
  }
}

/**
 * The receiver's last word on a verified transfer. It is sent only after the
 * receiver has recorded the transfer, because the sender commits the moment
 * it reads this line.
 */
export async function confirmBlocks(channel: Writable, result: BlockResult): Promise<void> {
  await write(channel, Buffer.from(`${JSON.stringify({ ok: true, ...result })}\n`));
}
