// A Block-mode claim replicated end to end on two stand-in clusters: the
// sender Job reads a clone's device, the destination endpoint writes its own
// device, only changed pages cross on the next sync, and the destination
// snapshots each complete transfer.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec, specKeys } from '../../model/src/index.ts';
import { CSI_CLASS } from '../standin/cluster.ts';
import { sha256Of, writeAt } from '../support/device-io.ts';
import {
  claim,
  destinationFor,
  drive,
  onRealCluster,
  requestSync,
  sourceSpec,
  startStand,
  statusOf,
  syncEnded,
  type Stand,
} from './stand.ts';

const MiB = 1024 * 1024;
const size = 64 * MiB; // the stand's claims ask for 64Mi

let s: Stand;
const suite = onRealCluster ? describe.skip : describe;
beforeAll(async () => {
  if (onRealCluster) return;
  s = (await startStand())!;
});
afterAll(() => s?.stop());

suite('a Block volume replicated between two clusters (stand-in)', () => {
  let device: string;
  let destination: string;
  let firstSnapshot: string;

  it('copies the device through a clone; the destination snapshots the copy', async () => {
    const dest = await destinationFor(s, 'disk', 'Block');
    destination = dest.dir;
    device = await claim(
      s.source,
      'disk',
      CSI_CLASS,
      renderSpec(sourceSpec('disk', dest.endpoint, { destinationVolumeMode: 'Block' })),
      'Block',
    );
    // 8 MiB of data at the start, a page near the end, zeros between.
    await writeAt(device, 0, randomBytes(8 * MiB));
    await writeAt(device, size - 3 * 4096, randomBytes(4096));
    const at = await requestSync(s, 'disk');
    const status = await syncEnded(s, 'disk', at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 1 });
    expect(await sha256Of(destination, size)).toBe(await sha256Of(device, size));
    // The zeros did not cross: about the 8 MiB and the page, not 64 MiB.
    expect(status.lastSyncBytes).toBeGreaterThan(8 * MiB);
    expect(status.lastSyncBytes).toBeLessThan(9 * MiB);
    firstSnapshot = await drive(s, 'the destination snapshot', async () => {
      return (await statusOf(s.destination, 'disk')).latestSnapshot;
    });
    expect(firstSnapshot).toMatch(/^scribe-disk-/);
  });

  it('sends changed pages, not blocks, on the next sync (a snapshot-based one)', async () => {
    // Three scattered 4 KiB page writes, each in its own 64 KiB block; the
    // last in the zeros, where the destination needs no piece hashes.
    for (const page of [3, 700, 15_000]) await writeAt(device, page * 4096, randomBytes(4096));
    const at = await requestSync(s, 'disk', { [specKeys.method]: 'snapshot' });
    const status = await syncEnded(s, 'disk', at);
    expect(status.lastSyncError).toBeUndefined();
    expect(status).toMatchObject({ lastSyncResult: 'Succeeded', syncCount: 2 });
    expect(await sha256Of(destination, size)).toBe(await sha256Of(device, size));
    // 1,024 block hashes (33 bytes each), 2 blocks' piece hashes (the third
    // block was zeros at the destination), 3 pages, and SSH's handshake and
    // framing: 52 KB when written, against more than 200 KB for 3 whole
    // blocks (and 88 KB with one SSH packet per hash).
    expect(status.lastSyncBytes).toBeLessThan(64 * 1024);
    await drive(s, 'the second destination snapshot', async () => {
      const latest = (await statusOf(s.destination, 'disk')).latestSnapshot;
      return latest !== firstSnapshot ? latest : undefined;
    });
  });
});
