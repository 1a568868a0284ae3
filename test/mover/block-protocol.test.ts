// The block protocol's receiver against a sender that misbehaves, and the
// framing it reads with: over in-memory streams, with a real image file.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { zstdCompressSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsToSend, receiveBlocks } from '../../mover/src/block.ts';
import { ByteReader } from '../../mover/src/byte-reader.ts';

let work: string;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'scribe-block-protocol-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A receiver on an image file, and the two ends a test plays the sender with. */
async function receiverOn(bytes: number) {
  const path = join(work, `dst-${randomBytes(4).toString('hex')}.img`);
  await writeFile(path, Buffer.alloc(bytes));
  const toReceiver = new PassThrough();
  const fromReceiver = new PassThrough();
  const channel = Duplex.from({ readable: toReceiver, writable: fromReceiver });
  const reader = new ByteReader(fromReceiver);
  const done = receiveBlocks(channel, path, new AbortController().signal, silent);
  done.catch(() => undefined);
  return { toReceiver, reader, done };
}

function frame(...parts: (number | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      if (Buffer.isBuffer(p)) return p;
      const b = Buffer.alloc(4);
      b.writeUInt32BE(p);
      return b;
    }),
  );
}

describe('block protocol receiver', () => {
  it('refuses a sender of another protocol version, naming both', async () => {
    const r = await receiverOn(64 * 1024);
    r.toReceiver.write('{"v":1,"size":65536,"blockSize":65536}\n');
    await expect(r.done).rejects.toThrow(
      /unsupported block protocol version 1: this receiver speaks 2/,
    );
    expect(JSON.parse(await r.reader.readLine())).toMatchObject({ ok: false });
  });

  it.each([
    ['a piece size that does not divide the block', { blockSize: 65536, pieceSize: 3000 }],
    ['pieces smaller than 512 bytes', { blockSize: 65536, pieceSize: 256 }],
    ['a block over 1 MiB', { blockSize: 4 * 1024 * 1024, pieceSize: 16384 }],
  ])('refuses %s', async (_what, sizes) => {
    const r = await receiverOn(64 * 1024);
    r.toReceiver.write(`${JSON.stringify({ v: 2, size: 65536, ...sizes })}\n`);
    await expect(r.done).rejects.toThrow('unsupported block protocol header');
  });

  it('refuses data outside the volume and writes none of it', async () => {
    const r = await receiverOn(128 * 1024);
    r.toReceiver.write('{"v":2,"size":131072,"blockSize":65536,"pieceSize":4096}\n');
    expect(JSON.parse(await r.reader.readLine())).toMatchObject({ ok: true, size: 131072 });
    // Block 1, 4 KiB from its end, 8 KiB long: past the block and the volume.
    r.toReceiver.write(frame(Buffer.from('D'), 1, 61440, 8192, randomBytes(8192)));
    await expect(r.done).rejects.toThrow('block frame out of range');
  });

  it('refuses a compressed frame that inflates past its length', async () => {
    const r = await receiverOn(64 * 1024);
    r.toReceiver.write('{"v":2,"size":65536,"blockSize":65536,"pieceSize":4096}\n');
    await r.reader.readLine();
    const bomb = zstdCompressSync(Buffer.alloc(1024 * 1024));
    r.toReceiver.write(frame(Buffer.from('Z'), 0, 0, 4096, bomb.length, bomb));
    await expect(r.done).rejects.toThrow(/does not inflate to its 4096 bytes/);
  });

  it('answers a query with the hashes of the block pieces, then takes a piece', async () => {
    const r = await receiverOn(64 * 1024);
    r.toReceiver.write('{"v":2,"size":65536,"blockSize":65536,"pieceSize":4096}\n');
    await r.reader.readLine();
    const zeroBlock = createHash('sha256').update(Buffer.alloc(65536)).digest();
    expect((await r.reader.readExact(1)).toString()).toBe('H');
    expect(await r.reader.readExact(32)).toEqual(zeroBlock);
    r.toReceiver.write(frame(Buffer.from('Q'), 0));
    expect((await r.reader.readExact(1)).toString()).toBe('S');
    expect((await r.reader.readExact(4)).readUInt32BE(0)).toBe(0);
    const zeroPiece = createHash('sha256').update(Buffer.alloc(4096)).digest();
    for (let i = 0; i < 16; i++) expect(await r.reader.readExact(32)).toEqual(zeroPiece);
    // The source's block: piece 2 differs.
    const block = Buffer.alloc(65536);
    randomBytes(4096).copy(block, 8192);
    r.toReceiver.write(frame(Buffer.from('D'), 0, 8192, 4096, block.subarray(8192, 12288)));
    const digest = createHash('sha256')
      .update(createHash('sha256').update(block).digest())
      .digest();
    r.toReceiver.write(Buffer.concat([Buffer.from('E'), digest]));
    await expect(r.done).resolves.toMatchObject({ blocks: 1, blocksSent: 1, bytesSent: 4096 });
  });

  it('refuses a transfer whose end digest does not match what it holds', async () => {
    const r = await receiverOn(64 * 1024);
    r.toReceiver.write('{"v":2,"size":65536,"blockSize":65536,"pieceSize":4096}\n');
    await r.reader.readLine();
    r.toReceiver.write(Buffer.concat([Buffer.from('E'), randomBytes(32)]));
    await expect(r.done).rejects.toThrow('the destination does not match the source');
  });
});

describe('runsToSend', () => {
  it('sends the pieces that differ from the receiver hashes, adjacent ones as one run', () => {
    const data = randomBytes(20480);
    const theirs = [0, 1, 2, 3, 4].map((i) =>
      createHash('sha256')
        .update(data.subarray(i * 4096, (i + 1) * 4096))
        .digest(),
    );
    theirs[1] = Buffer.alloc(32);
    theirs[3] = Buffer.alloc(32);
    theirs[4] = Buffer.alloc(32);
    expect(runsToSend(data, 4096, theirs)).toEqual([
      [4096, 4096],
      [12288, 8192],
    ]);
    expect(runsToSend(data, 4096, [])).toEqual([[0, 20480]]);
  });

  it('without hashes, sends the pieces that are not all zeros, the short last one too', () => {
    const data = Buffer.alloc(14000);
    data[5000] = 1;
    data[13999] = 1;
    expect(runsToSend(data, 4096)).toEqual([
      [4096, 4096],
      [12288, 1712],
    ]);
    expect(runsToSend(Buffer.alloc(8192), 4096)).toEqual([]);
  });
});

describe('ByteReader', () => {
  it('reads exact lengths and lines across chunk boundaries', async () => {
    const s = new PassThrough();
    const r = new ByteReader(s);
    s.write('he');
    s.write('llo\nwor');
    s.write(Buffer.from([1, 2]));
    s.write(Buffer.from([3]));
    expect(await r.readLine()).toBe('hello');
    expect((await r.readExact(3)).toString()).toBe('wor');
    expect([...(await r.readExact(3))]).toEqual([1, 2, 3]);
  });

  it('reads a long backlog of small frames in order', async () => {
    const s = new PassThrough();
    const r = new ByteReader(s);
    const all = randomBytes(33 * 20000);
    for (let at = 0; at < all.length; at += 16384) s.write(all.subarray(at, at + 16384));
    for (let i = 0; i < 20000; i++) {
      expect((await r.readExact(33)).equals(all.subarray(i * 33, (i + 1) * 33))).toBe(true);
    }
  });

  it('says so when the stream ends in the middle of a frame', async () => {
    const s = new PassThrough();
    const r = new ByteReader(s);
    s.end(Buffer.from([1, 2]));
    await expect(r.readExact(4)).rejects.toThrow(
      'the connection closed in the middle of the transfer',
    );
  });

  it('refuses a line longer than its limit', async () => {
    const s = new PassThrough();
    const r = new ByteReader(s);
    s.write('x'.repeat(100));
    await expect(r.readLine(50)).rejects.toThrow('protocol line too long');
  });
});
