import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRun, startLiveSync } from '../../webhook/src/live-sync.ts';

// A stand-in for scribe-mover: records its arguments, prints a summary like
// `send --json`, sleeps as told, exits as told.
const FAKE_MOVER = `
const fs = require('node:fs');
fs.appendFileSync(process.env.RUNS, JSON.stringify(process.argv.slice(2)) + '\\n');
const sleep = Number(process.env.SLEEP_MS || 0);
setTimeout(() => {
  process.stdout.write(JSON.stringify({ bytesSent: 42, files: 3 }) + '\\n');
  process.exit(Number(process.env.EXIT || 0));
}, sleep);
process.on('SIGTERM', () => { fs.appendFileSync(process.env.RUNS, '"terminated"\\n'); process.exit(143); });
`;

let dir: string;
let mover: string;
const ROOT = join(import.meta.dirname, '../..');
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scribe-live-sync-'));
  mover = join(dir, 'fake-mover.cjs');
  await writeFile(mover, FAKE_MOVER);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const runsIn = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

function logger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

describe('the live-copy sidecar loop', () => {
  it('computes the next run in UTC', () => {
    expect(nextRun('*/15 * * * *', new Date('2026-11-26T07:31:10Z')).toISOString()).toBe(
      '2026-11-26T07:45:00.000Z',
    );
    expect(nextRun('@hourly', new Date('2026-11-26T07:31:10Z')).toISOString()).toBe(
      '2026-11-26T08:00:00.000Z',
    );
    expect(() => nextRun('not a schedule', new Date())).toThrow();
  });

  it('syncs at start and then on every tick, passing the mover its arguments and logging its summary', async () => {
    const runs = join(dir, 'ticks.jsonl');
    process.env.RUNS = runs;
    const { log, lines } = logger();
    const loop = startLiveSync({
      schedule: '* * * * * *',
      moverArgs: ['send', '--volume', '/scribe/source', '--json'],
      moverCommand: [process.execPath, mover],
      log,
    });
    const deadline = Date.now() + 10_000;
    while (loop.runs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    loop.stop();
    await loop.done;
    expect(loop.runs).toBeGreaterThanOrEqual(3);
    const recorded = await runsIn(runs);
    expect(recorded[0]).toEqual(['send', '--volume', '/scribe/source', '--json']);
    const done = lines.filter((l) => l.msg === 'live sync complete');
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done[0]).toMatchObject({ code: 0, summary: { bytesSent: 42, files: 3 } });
  });

  it('counts ticks missed while a long sync runs instead of queueing them, and reports failures', async () => {
    const runs = join(dir, 'slow.jsonl');
    process.env.RUNS = runs;
    process.env.SLEEP_MS = '2300';
    process.env.EXIT = '23';
    const { log, lines } = logger();
    try {
      const loop = startLiveSync({
        schedule: '* * * * * *',
        moverArgs: ['send'],
        moverCommand: [process.execPath, mover],
        log,
      });
      const deadline = Date.now() + 10_000;
      while (loop.runs < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      loop.stop();
      await loop.done;
      expect(loop.missed).toBeGreaterThanOrEqual(1);
      expect(lines.find((l) => l.msg === 'live sync failed')).toMatchObject({ code: 23 });
    } finally {
      delete process.env.SLEEP_MS;
      delete process.env.EXIT;
    }
  });

  it('stops a running sync on stop (the pod is going away)', async () => {
    const runs = join(dir, 'stop.jsonl');
    process.env.RUNS = runs;
    process.env.SLEEP_MS = '60000';
    try {
      const { log } = logger();
      const loop = startLiveSync({
        schedule: '0 0 1 1 *',
        moverArgs: ['send'],
        moverCommand: [process.execPath, mover],
        log,
      });
      const deadline = Date.now() + 10_000;
      while ((await runsIn(runs)).length < 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      loop.stop();
      await loop.done;
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await runsIn(runs)).toContain('terminated');
    } finally {
      delete process.env.SLEEP_MS;
    }
  });

  // The real `scribe-webhook live-sync` process, with the fake mover.
  const liveSync = (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [join(ROOT, 'webhook/bin/scribe-webhook.ts'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Bounded: a process that outlives the test is the failure.
    const stuck = setTimeout(() => child.kill('SIGKILL'), 15_000);
    void exited.then(() => clearTimeout(stuck));
    return { child, stderr: () => stderr, exited };
  };
  const manualArgs = (...send: string[]) => [
    'live-sync',
    '--schedule',
    'manual',
    '--mover',
    `${process.execPath} ${mover}`,
    '--',
    'send',
    ...send,
  ];
  const untilLogged = async (p: ReturnType<typeof liveSync>, text: string) => {
    for (let i = 0; i < 100 && !p.stderr().includes(text); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(p.stderr()).toContain(text);
  };

  it("runs as `scribe-webhook live-sync`, and refuses a bad schedule in kubectl's tone", async () => {
    const bad = liveSync(['live-sync', '--schedule', '61 * * * *', '--', 'send']);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(
      /error: option '--schedule <cron>' argument '61 \* \* \* \*' is invalid\. "61 \* \* \* \*" is not a schedule/,
    );

    const runs = join(dir, 'cli.jsonl');
    const ok = liveSync(manualArgs('--volume', '/v'), { RUNS: runs });
    await untilLogged(ok, '"msg":"live sync complete"');
    ok.child.kill('SIGTERM');
    expect(await ok.exited).toBe(0); // stopped by SIGTERM after its one sync
    expect(await runsIn(runs)).toEqual([['send', '--volume', '/v']]);
    expect(ok.stderr()).toMatch(/schedule is manual/);
  });

  it('keeps running on SIGUSR1 without opening a debugger port in the application pod', async () => {
    const p = liveSync(manualArgs(), { RUNS: join(dir, 'usr1.jsonl') });
    await untilLogged(p, '"msg":"live sync complete"');
    p.child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 500));
    expect(p.child.exitCode).toBeNull();
    // Node.js would say "Debugger listening", or "Starting inspector ... failed" when 9229 is taken.
    expect(p.stderr()).not.toMatch(/Debugger|inspector/i);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
