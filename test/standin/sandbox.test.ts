// The README's sandbox command, run as a person runs it: it must walk the
// main job end to end and verify the destination's data itself.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sandbox = fileURLToPath(new URL('./sandbox.ts', import.meta.url));

describe('npm run sandbox', () => {
  it('protects a PVC, syncs it, shows its status and verifies the destination', async () => {
    const child = spawn(process.execPath, [sandbox], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    // A run that hangs is stopped and shows how far it got, instead of a bare timeout.
    const stuck = setTimeout(() => {
      out += '\n[test: no exit after 150 s; sent SIGINT]';
      child.kill('SIGINT');
    }, 150_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(stuck);
    expect(code, out).toBe(0);
    expect(out).toMatch(/\$ kubectl scribe enable pvc data --to destination/);
    expect(out).toMatch(/persistentvolumeclaim\/data synced in .*201 files/);
    expect(out).toMatch(/data\s+Protected\s+clone\s+destination\/default\/data\s+manual/);
    expect(out).toMatch(/verified: the destination volume .* is identical to the source/);
  }, 180_000);
});
