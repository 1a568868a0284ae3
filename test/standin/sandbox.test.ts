// The README's sandbox command, run as a person runs it: it must walk the
// main job end to end and verify the destination's data itself.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sandbox = fileURLToPath(new URL('./sandbox.ts', import.meta.url));

/** Runs the sandbox to its end; its exit code and everything it printed. */
async function runSandbox(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [sandbox, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { code, out };
}

describe('npm run sandbox', () => {
  it('protects a PVC, syncs it, shows its status and verifies the destination', async () => {
    const { code, out } = await runSandbox([]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/\$ kubectl scribe enable pvc data --to destination/);
    expect(out).toMatch(/persistentvolumeclaim\/data synced in .*201 files/);
    expect(out).toMatch(/data\s+default\s+Protected\s+clone\s+destination\/default\/data\s+manual/);
    expect(out).toMatch(/verified: the destination volume .* is identical to the source/);
  }, 180_000);

  it("syncs through the plugin's own endpoint where the destination has no Scribe", async () => {
    // The endpoint Deployment the plugin makes runs as a pod of the
    // stand-in's kubelet: its container must start the mover's receiver.
    const { code, out } = await runSandbox(['--destination-without-scribe']);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Warning: Scribe is not installed in context "destination"/);
    expect(out).toMatch(/deployment\.apps\/scribe-dst-data created \(context destination/);
    expect(out).toMatch(/persistentvolumeclaim\/data synced in .*201 files/);
    expect(out).toMatch(/verified: the destination volume .* is identical to the source/);
  }, 180_000);
});
