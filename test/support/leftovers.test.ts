import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { descendants, killLeftovers, statOf } from './leftovers.ts';

const started: ChildProcess[] = [];
afterAll(() => started.forEach((c) => c.kill('SIGKILL')));

function start(command: string, detached: boolean): ChildProcess {
  const child = spawn('sh', ['-c', command], { detached, stdio: 'ignore' });
  started.push(child);
  return child;
}

/** Gone, or a zombie: either way no longer running. */
function running(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat.state !== 'Z';
}

async function until(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  return check();
}

describe('processes a test file left running', () => {
  it('are found below this process, grandchildren included, and killed, spared ones excepted', async () => {
    // A detached child (its own group, as the mover helpers start them) with a grandchild.
    const left = start('sleep 60 & wait', true);
    const spared = start('exec sleep 60', false);
    const grandchild = await until(() => descendants().some((p) => p.ppid === left.pid));
    expect(grandchild).toBe(true);
    const sleeper = descendants().find((p) => p.ppid === left.pid)!;
    expect(sleeper.command).toBe('sleep 60');

    const exited = once(left, 'exit');
    const killed = killLeftovers(new Set([spared.pid!]));

    expect(killed.map((p) => p.pid).sort()).toEqual([left.pid!, sleeper.pid].sort());
    await exited;
    expect(await until(() => !running(sleeper.pid))).toBe(true);
    expect(running(spared.pid!)).toBe(true);
    expect(descendants().map((p) => p.pid)).toContain(spared.pid);
  });

  it('leaves nothing to kill when nothing was started', () => {
    const before = new Set(descendants().map((p) => p.pid));
    expect(killLeftovers(before)).toEqual([]);
  });
});
