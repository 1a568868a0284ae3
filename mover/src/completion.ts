import { execFile } from 'node:child_process';
import { open, mkdir, rename, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CompletionRecord {
  syncId: string;
  completedAt: string;
  mode: 'filesystem' | 'block';
  sender?: Record<string, unknown>;
}

export const markerFile = 'complete.json';

/**
 * Flushes only the filesystem that holds `path` (syncfs via coreutils'
 * `sync -f`), never a node-wide sync that would stall other workloads.
 */
export async function flushFilesystem(path: string): Promise<void> {
  await run('sync', ['-f', path]);
}

/** Writes the marker so that a reader sees the old or the new record, never a torn one. */
export async function writeMarker(stateDir: string, record: CompletionRecord): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const target = join(stateDir, markerFile);
  const temp = `${target}.${process.pid}.tmp`;
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, target);
  const dir = await open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return target;
}

export async function readMarker(stateDir: string): Promise<CompletionRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, markerFile), 'utf8')) as CompletionRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
