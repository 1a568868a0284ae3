// End-to-end fidelity: a tree holding every kind of entry and metadata is sent
// by the mover CLI and must arrive identical, then again after every kind of
// change. As root the source and destination are two loop-mounted XFS
// filesystems; otherwise temp dirs, with root-only features skipped.

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canUseLoopDevices,
  isRoot,
  makeLoopFs,
  makeTempDir,
  type TempDir,
} from '../support/loopfs.ts';
import {
  describeRun,
  keygen,
  runSend,
  startReceiver,
  type MoverKeys,
  type Receiver,
  type SendResult,
} from '../support/mover.ts';
import {
  RANDOM_BYTES,
  SAME_SIZE_MTIME_PATH,
  buildTrickyTree,
  compareTrees,
  describeTree,
  diffTrees,
  mutateTree,
  type BuildReport,
  type EntryFacts,
} from '../support/tree.ts';

const ROOT_ENTRIES = 20_000;
/** The receiver's reserved directory at the destination root. */
const STATE_DIR = '.scribe';
const SEND_TIMEOUT_MS = 240_000;

describe('mover fidelity', () => {
  const cleanups: Array<() => Promise<void>> = [];
  let src = '';
  let dst = '';
  let keys: MoverKeys;
  let receiver: Receiver | undefined;
  let build: BuildReport;
  /** An unprivileged receiver keeps what it cannot set in rsync fake-super xattrs. */
  let fakeSuper = false;

  beforeAll(async () => {
    const work: TempDir = await makeTempDir('scribe-fidelity-');
    cleanups.push(() => work.cleanup());
    if (await canUseLoopDevices()) {
      const a = await makeLoopFs({ sizeMiB: 1024 });
      cleanups.push(() => a.cleanup());
      const b = await makeLoopFs({ sizeMiB: 1024 });
      cleanups.push(() => b.cleanup());
      src = a.mountpoint;
      dst = b.mountpoint;
    } else {
      console.warn('fidelity: not root or no loop devices; using temp dirs on one filesystem');
      fakeSuper = !isRoot();
      const a = await makeTempDir('scribe-fidelity-src-');
      cleanups.push(() => a.cleanup());
      const b = await makeTempDir('scribe-fidelity-dst-');
      cleanups.push(() => b.cleanup());
      src = a.path;
      dst = b.path;
    }
    keys = await keygen(join(work.path, 'keys'));
    build = await buildTrickyTree(src, { rootEntries: ROOT_ENTRIES });
    for (const s of build.skipped) console.warn(`fidelity: skipped ${s.feature}: ${s.reason}`);
    receiver = await startReceiver({ volume: dst, keys });
    cleanups.push(async () => {
      await receiver?.stop();
    });
  }, 300_000);

  afterAll(async () => {
    // Stop the receiver before unmounting; undo in reverse order of setup.
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'fidelity cleanup failed');
  }, 120_000);

  async function send(opts: { checksum?: boolean } = {}): Promise<SendResult> {
    if (!receiver) throw new Error('receiver not started');
    const r = await runSend({
      volume: src,
      to: receiver.address,
      keys,
      checksum: opts.checksum,
      timeoutMs: SEND_TIMEOUT_MS,
    });
    const context = `${describeRun('send', r)}\n--- receiver stderr ---\n${receiver.stderr().slice(-8000)}`;
    expect(r.code, context).toBe(0);
    expect(r.summary, context).toBeDefined();
    const s = r.summary;
    expect(s?.result, context).toBe('succeeded');
    expect(s?.error, context).toBeUndefined();
    for (const field of [
      'files',
      'dataBytes',
      'wireBytes',
      'durationSeconds',
      'attempts',
    ] as const) {
      expect(typeof s?.[field], `${field} in ${JSON.stringify(s)}`).toBe('number');
      expect(s?.[field], `${field} in ${JSON.stringify(s)}`).toBeGreaterThanOrEqual(0);
    }
    expect(s?.attempts).toBeGreaterThanOrEqual(1);
    return r;
  }

  function describeBoth(): Promise<[Map<string, EntryFacts>, Map<string, EntryFacts>]> {
    return Promise.all([describeTree(src), describeTree(dst, { exclude: [STATE_DIR], fakeSuper })]);
  }

  it('the first send reproduces every entry and attribute', async () => {
    const r = await send();
    const s = r.summary;
    // Every root entry is a regular file to transfer, and the random MiB
    // cannot be avoided (nor compressed away from the data count).
    expect(s?.files).toBeGreaterThanOrEqual(ROOT_ENTRIES);
    expect(s?.dataBytes).toBeGreaterThanOrEqual(RANDOM_BYTES);
    expect(s?.wireBytes).toBeGreaterThan(0);
    await access(join(dst, STATE_DIR, 'complete.json'));

    const [a, b] = await describeBoth();
    expect(a.size).toBeGreaterThan(ROOT_ENTRIES);
    expect(diffTrees(a, b)).toEqual([]);
  }, 300_000);

  it('a second send without changes moves almost no data', async () => {
    const r = await send();
    expect(r.summary?.files, JSON.stringify(r.summary)).toBe(0);
    expect(r.summary?.dataBytes, JSON.stringify(r.summary)).toBeLessThan(64 * 1024);
    const [a, b] = await describeBoth();
    expect(diffTrees(a, b)).toEqual([]);
  }, 300_000);

  it('after mutations, only the size+mtime-preserving change is missed without --checksum', async () => {
    const m = await mutateTree(src);
    for (const s of m.skipped) console.warn(`fidelity: skipped mutation ${s.feature}: ${s.reason}`);
    expect(m.sameSizeMtimePath).toBe(SAME_SIZE_MTIME_PATH);

    // Before sending, the comparator must see the changes: the test can fail.
    const [before, stale] = await describeBoth();
    expect(compareTrees(before, stale).length).toBeGreaterThan(20);

    await send();
    const [a, b] = await describeBoth();
    const diffs = compareTrees(a, b);
    expect(
      diffs.map((d) => ({ path: d.path, field: d.field })),
      diffTrees(a, b).join('\n'),
    ).toEqual([{ path: SAME_SIZE_MTIME_PATH, field: 'sha256' }]);
  }, 300_000);

  it('send --checksum catches the size+mtime-preserving change', async () => {
    await send({ checksum: true });
    const [a, b] = await describeBoth();
    expect(diffTrees(a, b)).toEqual([]);
  }, 300_000);
});
