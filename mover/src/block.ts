// Block volumes: rsync cannot sync a device's contents, so both ends hash
// fixed-size blocks over one SSH channel and only what differs crosses. A
// block that differs is narrowed down to its pieces (4 KiB, a page) with a
// second round of hashes, so a scattered page write costs a page, not a block.
//
// sender   -> receiver: {"v":2,"size":N,"blockSize":B,"pieceSize":P}\n
// receiver -> sender:   {"ok":true,"size":D}\n, then messages, in any mix:
//                       'H' sha256                 the next block's hash, in order
//                       'S' u32 block, sha256 x n  the hashes of that block's pieces
// sender   -> receiver: 'Q' u32 block              asks for a block's piece hashes
//                       'D' u32 block, u32 offset in block, u32 length, data
//                       'Z' u32 block, u32 offset, u32 length, u32 zstd length, zstd data
//                       'E' sha256 of all block hashes: the end
// receiver -> sender:   {"ok":...}\n after flush and re-read verify (or an error)
//
// A destination block of zeros needs no second round: the sender sends the
// pieces of its block that are not zeros. Data frames go compressed where
// they shrink (frame-compression.ts).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { ByteReader } from './byte-reader.ts';
import { decompressFrame, FrameCompressor, type FrameCompression } from './frame-compression.ts';
import type { Logger } from './log.ts';
import { blockVolumeSize } from './volume.ts';

export const defaultBlockSize = 64 * 1024;
export const defaultPieceSize = 4 * 1024;
const protocolVersion = 2;
const hashLength = 32;
const readBatchBlocks = 64;
/** Small messages (hashes, queries) sent together in one write. */
const messagesPerWrite = 64;
/** Bound what one frame or one piece-hash message may make the receiver hold. */
const maxPiecesPerBlock = 256;
const maxBlockSize = 1024 * 1024;

const msg = {
  hash: 0x48,
  pieces: 0x53,
  line: 0x7b,
  query: 0x51,
  data: 0x44,
  zstd: 0x5a,
  end: 0x45,
};

export interface BlockResult {
  blocks: number;
  /** Blocks of which anything was sent. */
  blocksSent: number;
  bytesSent: number;
  size: number;
  /** Of bytesSent, what went zstd-compressed (the sender's count). */
  compressedBytes?: number;
}

export interface BlockOptions {
  blockSize?: number;
  /** Equal to the block size: no second round, whole blocks are sent. */
  pieceSize?: number;
  /** zstd for data frames: `auto` where they shrink (frame-compression.ts). */
  compression?: FrameCompression;
  /** Ends the transfer: pending reads and writes fail at once. */
  signal?: AbortSignal;
  /** After each block: bytes of the volume compared so far, block data sent so far. */
  onProgress?: (compared: number, sent: number) => void;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

const closedMidTransfer = 'the connection closed in the middle of the transfer';

/**
 * Writes, waiting for room when the stream asks for it. An ssh2 channel whose
 * connection died may never drain nor close, so the wait also ends when the
 * transfer is aborted (the receiver aborts when the connection closes or a
 * new attempt takes over); else a vanished peer would hold it for good.
 */
async function write(stream: Writable, data: Buffer, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new Error(closedMidTransfer);
  if (stream.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', settle);
      signal?.removeEventListener('abort', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error(closedMidTransfer));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', settle);
    signal?.addEventListener('abort', onClose);
  });
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

/**
 * Yields each block of the first `size` bytes with its hash, reading in large
 * batches into two buffers in turn: the next batch is read while this one is
 * hashed, so the disk and the hashing overlap. A block's data is valid until
 * the consumer asks for the block after the next batch starts.
 */
async function* blocksOf(fh: FileHandle, size: number, blockSize: number) {
  const batchBytes = blockSize * readBatchBlocks;
  const buffers = [Buffer.allocUnsafe(batchBytes), Buffer.allocUnsafe(batchBytes)];
  const readBatch = async (offset: number, buffer: Buffer) => {
    const want = Math.min(batchBytes, size - offset);
    const { bytesRead } = await fh.read(buffer, 0, want, offset);
    if (bytesRead !== want) throw new Error(`short read at offset ${offset}`);
    return buffer.subarray(0, want);
  };
  let next = size > 0 ? readBatch(0, buffers[0]!) : undefined;
  for (let offset = 0, turn = 0; next; offset += batchBytes, turn ^= 1) {
    const batch = await next;
    const following = offset + batchBytes;
    next = following < size ? readBatch(following, buffers[turn ^ 1]!) : undefined;
    // A failed read ahead is thrown when its turn comes, not as unhandled.
    next?.catch(() => undefined);
    for (let at = 0; at < batch.length; at += blockSize) {
      const data = batch.subarray(at, Math.min(at + blockSize, batch.length));
      yield { index: (offset + at) / blockSize, data, hash: sha256(data) };
    }
  }
}

async function readBlock(fh: FileHandle, index: number, size: number, blockSize: number) {
  const length = Math.min(blockSize, size - index * blockSize);
  const data = Buffer.allocUnsafe(length);
  const { bytesRead } = await fh.read(data, 0, length, index * blockSize);
  if (bytesRead !== length) throw new Error(`short read of block ${index}`);
  return data;
}

/** The offsets of a block's pieces. */
function pieceOffsets(length: number, pieceSize: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < length; at += pieceSize) out.push(at);
  return out;
}

/**
 * What of `data` to send, as [offset, length] runs of whole pieces: the pieces
 * that differ from `theirs` (the receiver's piece hashes) or, without them,
 * that are not all zeros. Adjacent pieces go as one run: one frame and one
 * write at the receiver, not one per piece.
 */
export function runsToSend(data: Buffer, pieceSize: number, theirs?: Buffer[]): [number, number][] {
  const zeros = theirs ? Buffer.alloc(0) : Buffer.alloc(pieceSize);
  const runs: [number, number][] = [];
  pieceOffsets(data.length, pieceSize).forEach((at, i) => {
    const end = Math.min(at + pieceSize, data.length);
    const piece = data.subarray(at, end);
    const differs = theirs
      ? !sha256(piece).equals(theirs[i] ?? Buffer.alloc(0))
      : !piece.equals(zeros.subarray(0, piece.length));
    if (!differs) return;
    const last = runs.at(-1);
    if (last && last[0] + last[1] === at) last[1] += end - at;
    else runs.push([at, end - at]);
  });
  return runs;
}

export async function sendBlocks(
  channel: Readable & Writable,
  path: string,
  options: BlockOptions = {},
): Promise<BlockResult> {
  const blockSize = options.blockSize ?? defaultBlockSize;
  const pieceSize = Math.min(options.pieceSize ?? defaultPieceSize, blockSize);
  const size = await blockVolumeSize(path);
  // A just-attached device can report 0 bytes for a moment; copying "nothing"
  // and committing would record a complete sync that is not one, so fail
  // this attempt (the sender retries).
  if (size === 0) throw new Error(`source block volume "${path}" reports a size of 0 bytes`);
  const reader = new ByteReader(channel);
  const { signal } = options;
  signal?.addEventListener('abort', () => reader.fail(new Error('the transfer was stopped')), {
    once: true,
  });
  const header = { v: protocolVersion, size, blockSize, pieceSize };
  await write(channel, Buffer.from(`${JSON.stringify(header)}\n`), signal);
  const hello = JSON.parse(await reader.readLine()) as { ok: boolean; error?: string };
  if (!hello.ok) throw new Error(hello.error ?? 'the receiver refused the block transfer');
  const zeroHashes = new Map<number, Buffer>();
  const zeroHash = (length: number) => {
    let h = zeroHashes.get(length);
    if (!h) zeroHashes.set(length, (h = sha256(Buffer.alloc(length))));
    return h;
  };
  const fh = await open(path, 'r');
  const all = createHash('sha256');
  const sentFrom = new Set<number>();
  let blocks = 0;
  let bytesSent = 0;
  let compressedBytes = 0;
  let awaitingPieces = 0;

  // Queries wait for a batch, as the receiver's hashes do: the receiver
  // streams every hash whatever the sender asks, so holding them cannot stall.
  let queries: Buffer[] = [];
  const askForPieces = async () => {
    if (queries.length) await write(channel, Buffer.concat(queries), signal);
    queries = [];
  };
  const compressor = new FrameCompressor(options.compression ?? 'auto');
  const sendRuns = async (index: number, data: Buffer, runs: [number, number][]) => {
    for (const [at, length] of runs) {
      const part = data.subarray(at, at + length);
      const z = compressor.compress(part);
      const frame = z
        ? [Buffer.of(msg.zstd), u32(index, at, length, z.length), z]
        : [Buffer.of(msg.data), u32(index, at, length), part];
      await write(channel, Buffer.concat(frame), signal);
      bytesSent += length;
      if (z) compressedBytes += length;
    }
    if (runs.length) sentFrom.add(index);
  };
  /** Reads the receiver's messages up to the next block hash, answering piece hashes on the way. */
  const nextMessage = async (): Promise<Buffer | undefined> => {
    const type = (await reader.readExact(1))[0];
    if (type === msg.hash) return reader.readExact(hashLength);
    if (type === msg.pieces) {
      const index = (await reader.readExact(4)).readUInt32BE(0);
      if (index >= Math.ceil(size / blockSize))
        throw new Error('the receiver answered for a block out of range');
      const data = await readBlock(fh, index, size, blockSize);
      const n = Math.ceil(data.length / pieceSize);
      const theirs: Buffer[] = [];
      for (let i = 0; i < n; i++) theirs.push(await reader.readExact(hashLength));
      awaitingPieces--;
      await sendRuns(index, data, runsToSend(data, pieceSize, theirs));
      return undefined;
    }
    if (type === msg.line) {
      const line = `{${await reader.readLine()}`;
      const r = JSON.parse(line) as { ok: boolean; error?: string };
      throw new Error(r.error ?? `unexpected message from the receiver: ${line}`);
    }
    throw new Error(`unexpected message type ${type} from the receiver`);
  };

  try {
    for await (const b of blocksOf(fh, size, blockSize)) {
      all.update(b.hash);
      blocks++;
      let theirs: Buffer | undefined;
      while (!theirs) theirs = await nextMessage();
      options.onProgress?.(b.index * blockSize + b.data.length, bytesSent);
      if (theirs.equals(b.hash)) continue;
      if (theirs.equals(zeroHash(b.data.length))) {
        // The batch buffer is reused: the pieces are copied as they are framed.
        await sendRuns(b.index, b.data, runsToSend(b.data, pieceSize));
      } else if (pieceSize < blockSize) {
        queries.push(Buffer.of(msg.query), u32(b.index));
        awaitingPieces++;
        if (queries.length >= 2 * messagesPerWrite) await askForPieces();
      } else {
        await sendRuns(b.index, b.data, [[0, b.data.length]]);
      }
    }
    await askForPieces();
    while (awaitingPieces > 0) {
      if ((await nextMessage()) !== undefined)
        throw new Error('the receiver sent more block hashes than blocks');
    }
  } finally {
    await fh.close();
  }
  await write(channel, Buffer.concat([Buffer.of(msg.end), all.digest()]), signal);
  const type = (await reader.readExact(1))[0];
  const line = `${String.fromCharCode(type ?? 0)}${await reader.readLine()}`;
  const result = JSON.parse(line) as { ok: boolean; error?: string };
  if (!result.ok) throw new Error(result.error ?? 'the receiver could not verify the volume');
  return { blocks, blocksSent: sentFrom.size, bytesSent, size, compressedBytes };
}

export async function receiveBlocks(
  channel: Readable & Writable,
  path: string,
  signal: AbortSignal,
  log: Logger,
): Promise<BlockResult> {
  const reader = new ByteReader(channel);
  signal.addEventListener('abort', () => reader.fail(new Error(closedMidTransfer)), { once: true });
  const refuse = async (error: string): Promise<never> => {
    await write(channel, Buffer.from(`${JSON.stringify({ ok: false, error })}\n`));
    throw new Error(error);
  };
  const header = JSON.parse(await reader.readLine()) as {
    v: number;
    size: number;
    blockSize: number;
    pieceSize: number;
  };
  if (header.v !== protocolVersion) {
    return await refuse(
      `unsupported block protocol version ${header.v}: this receiver speaks ${protocolVersion}; ` +
        'run the same scribe-mover version on both clusters',
    );
  }
  const { size, blockSize, pieceSize } = header;
  if (
    !Number.isSafeInteger(size) ||
    size < 0 ||
    !Number.isInteger(blockSize) ||
    !Number.isInteger(pieceSize) ||
    pieceSize < 512 ||
    blockSize < pieceSize ||
    blockSize > maxBlockSize ||
    blockSize % pieceSize !== 0 ||
    blockSize / pieceSize > maxPiecesPerBlock ||
    Math.ceil(size / blockSize) > 0xffffffff
  ) {
    return await refuse('unsupported block protocol header');
  }
  const blockCount = Math.ceil(size / blockSize);
  const destSize = await blockVolumeSize(path);
  if (destSize < size) {
    return await refuse(
      `the destination volume is smaller than the source (${destSize} < ${size} bytes): ` +
        'give the destination PVC at least the source capacity',
    );
  }
  await write(channel, Buffer.from(`${JSON.stringify({ ok: true, size: destSize })}\n`), signal);
  const fh = await open(path, 'r+');
  const hashes: Buffer[] = [];
  const written = new Set<number>();
  try {
    // Hashes go out while frames come in: the sender compares as it reads.
    // Each message is one write, so these and the piece hashes never interleave.
    // They go in batches: one write is one SSH packet, whose framing and MAC
    // (about 40 bytes) would otherwise outweigh each 33-byte message.
    const sendHashes = (async () => {
      let batch: Buffer[] = [];
      for await (const b of blocksOf(fh, size, blockSize)) {
        if (signal.aborted) throw new Error('aborted');
        hashes[b.index] = b.hash;
        batch.push(Buffer.of(msg.hash), b.hash);
        if (batch.length >= 2 * messagesPerWrite) {
          await write(channel, Buffer.concat(batch), signal);
          batch = [];
        }
      }
      if (batch.length) await write(channel, Buffer.concat(batch), signal);
    })();
    // Were the frame loop to throw first, the streamer's failure is not unhandled.
    sendHashes.catch(() => undefined);
    let digest: Buffer | undefined;
    let bytes = 0;
    while (!digest) {
      if (signal.aborted) throw new Error('aborted');
      const type = (await reader.readExact(1))[0];
      if (type === msg.end) {
        digest = await reader.readExact(hashLength);
      } else if (type === msg.query) {
        const index = (await reader.readExact(4)).readUInt32BE(0);
        if (index >= blockCount) return await refuse('block query out of range');
        const data = await readBlock(fh, index, size, blockSize);
        const pieces = pieceOffsets(data.length, pieceSize).map((at) =>
          sha256(data.subarray(at, Math.min(at + pieceSize, data.length))),
        );
        await write(channel, Buffer.concat([Buffer.of(msg.pieces), u32(index), ...pieces]), signal);
      } else if (type === msg.data || type === msg.zstd) {
        const frame = await reader.readExact(type === msg.zstd ? 16 : 12);
        const index = frame.readUInt32BE(0);
        const at = frame.readUInt32BE(4);
        const length = frame.readUInt32BE(8);
        const offset = index * blockSize + at;
        if (index >= blockCount || at + length > blockSize || offset + length > size) {
          return await refuse('block frame out of range');
        }
        let data: Buffer;
        if (type === msg.zstd) {
          const zLength = frame.readUInt32BE(12);
          // zstd never needs much more room than the data it holds.
          if (zLength > length + 1024) return await refuse('compressed block frame too long');
          try {
            data = decompressFrame(await reader.readExact(zLength), length);
          } catch (err) {
            return await refuse((err as Error).message);
          }
        } else {
          data = await reader.readExact(length);
        }
        await fh.write(data, 0, length, offset);
        written.add(index);
        bytes += length;
      } else {
        return await refuse(`unexpected block protocol message ${type}`);
      }
    }
    await sendHashes;
    await fh.sync();
    // Verify what is on the device now, not what was received.
    for (const index of written) {
      hashes[index] = sha256(await readBlock(fh, index, size, blockSize));
    }
    const all = createHash('sha256');
    for (const h of hashes) all.update(h);
    if (!all.digest().equals(digest))
      return await refuse('the destination does not match the source after the transfer');
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
