// Processes a test file left running. A test that times out leaves its
// children behind: vitest moves on, the helpers' kill timers die with the
// worker, and a detached child (its own process group) outlives the worker.
// After each file, whatever the worker started and still runs is killed and
// named, so it neither holds ports, mounts and namespaces for later files nor
// outlives the run on CI.

import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** One letter, as in ps: R, S, D, Z, T... */
  state: string;
  command: string;
}

/** A process's state letter and parent, from /proc; undefined once it is gone (reaped). */
export function statOf(pid: number | string): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    const [state = '?', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function processes(): ProcessEntry[] {
  if (!existsSync('/proc/self/stat')) return [];
  const out: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statOf(name);
    if (!stat) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue; // exited while we looked
    }
    out.push({ pid: Number(name), ...stat, command });
  }
  return out;
}

/** Every live process below `root` (children, their children...). */
export function descendants(root = process.pid): ProcessEntry[] {
  const byParent = new Map<number, ProcessEntry[]>();
  for (const p of processes()) {
    const siblings = byParent.get(p.ppid) ?? [];
    siblings.push(p);
    byParent.set(p.ppid, siblings);
  }
  const found: ProcessEntry[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of byParent.get(pid) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** SIGKILLs the descendants not in `spare` (zombies only wait to be reaped) and returns them. */
export function killLeftovers(spare: ReadonlySet<number>, root = process.pid): ProcessEntry[] {
  const left = descendants(root).filter((p) => p.state !== 'Z' && !spare.has(p.pid));
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return left;
}
