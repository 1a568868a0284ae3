// Parallel test files each run their own stand-in clusters: no two clusters,
// in this process or another, may share an address block.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { blockLockPort, claimBlock } from './cluster.ts';

const close = (lock: { close(cb: () => void): void }) =>
  new Promise<void>((resolve) => lock.close(() => resolve()));

describe('address blocks of stand-in clusters', () => {
  it('are given to one holder at a time, and free again once let go', async () => {
    const first = await claimBlock();
    const second = await claimBlock();
    expect(second.block).not.toBe(first.block);
    await expect(claimBlock(first.block)).rejects.toThrow(
      `address block ${first.block} (127.${100 + first.block}.0.1) is held by another stand-in cluster`,
    );
    await close(first.lock);
    const again = await claimBlock(first.block);
    expect(again.block).toBe(first.block);
    await close(again.lock);
    await close(second.lock);
  });

  it('are held against other processes, and let go when such a process dies', async () => {
    const held = await claimBlock();
    const block = held.block;
    await close(held.lock);
    // Another process takes the block and keeps it.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen({ host: '127.${100 + block}.0.1', port: ${blockLockPort}, exclusive: true }, () => console.log('held'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout!, 'data');
      await expect(claimBlock(block)).rejects.toThrow(/held by another stand-in cluster/);
      const other = await claimBlock();
      expect(other.block).not.toBe(block);
      await close(other.lock);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    const after = await claimBlock(block);
    await close(after.lock);
  });
});
