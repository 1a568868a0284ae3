// Reads rsync's own --stats and --info=progress2 text into numbers.

export interface RsyncStats {
  files: number;
  filesTransferred: number;
  deleted: number;
  totalSize: number;
  literalBytes: number;
  matchedBytes: number;
  sentBytes: number;
  receivedBytes: number;
}

const statLines: Record<keyof RsyncStats, RegExp> = {
  files: /^Number of files: ([\d,]+)/m,
  filesTransferred: /^Number of regular files transferred: ([\d,]+)/m,
  deleted: /^Number of deleted files: ([\d,]+)/m,
  totalSize: /^Total file size: ([\d,]+) bytes/m,
  literalBytes: /^Literal data: ([\d,]+) bytes/m,
  matchedBytes: /^Matched data: ([\d,]+) bytes/m,
  sentBytes: /^Total bytes sent: ([\d,]+)/m,
  receivedBytes: /^Total bytes received: ([\d,]+)/m,
};

export function parseStats(text: string): RsyncStats | undefined {
  const out: Partial<RsyncStats> = {};
  for (const [key, re] of Object.entries(statLines) as [keyof RsyncStats, RegExp][]) {
    const m = re.exec(text);
    if (!m?.[1]) return undefined;
    out[key] = Number(m[1].replaceAll(',', ''));
  }
  return out as RsyncStats;
}

export interface Progress {
  /** Bytes done: of files processed (rsync), of the volume compared (block volumes). */
  bytes: number;
  percent: number;
  rate: string;
  files: number;
  toCheck?: number;
  total?: number;
  /** Block volumes: block data sent so far. */
  sent?: number;
}

/** A block transfer's progress in the shape rsync's lines are parsed into; the rate is over the whole attempt. */
export function blockProgress(
  compared: number,
  size: number,
  sent: number,
  seconds: number,
): Progress {
  const rate = seconds > 0 ? compared / seconds / 1e6 : 0;
  return {
    bytes: compared,
    percent: size > 0 ? Math.floor((compared / size) * 100) : 100,
    rate: `${rate.toFixed(2)}MB/s`,
    files: compared >= size ? 1 : 0,
    sent,
  };
}

// e.g. "  1,234,567  12%   10.00MB/s    0:00:12 (xfr#3, to-chk=10/100)"
const progressLine =
  /^\s*([\d,]+)\s+(\d+)%\s+(\S+)\s+\S+(?:\s+\(xfr#(\d+), (?:ir|to)-chk=(\d+)\/(\d+)\))?\s*$/;

export function parseProgress(line: string): Progress | undefined {
  const m = progressLine.exec(line);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const p: Progress = {
    bytes: Number(m[1].replaceAll(',', '')),
    percent: Number(m[2]),
    rate: m[3],
    files: m[4] ? Number(m[4]) : 0,
  };
  if (m[5] && m[6]) {
    p.toCheck = Number(m[5]);
    p.total = Number(m[6]);
  }
  return p;
}

/**
 * The receiving rsync ran out of room (ENOSPC) or over a quota (EDQUOT): no
 * new attempt can cure that, only a larger destination or a smaller source.
 */
export function destinationFull(stderr: string): boolean {
  return /\[(receiver|generator)\][^\n]*(No space left on device \(28\)|Disk quota exceeded \(122\))/.test(
    stderr,
  );
}

/** rsync's exit codes that a new attempt can cure: the link, not the data, failed. */
export function isRetryableExit(code: number | null): boolean {
  return code === null || [5, 10, 11, 12, 14, 20, 30, 35, 255].includes(code);
}

export function describeExit(code: number | null): string {
  const known: Record<number, string> = {
    1: 'syntax or usage error',
    2: 'protocol incompatibility',
    3: 'errors selecting input/output files or directories',
    5: 'error starting client-server protocol',
    10: 'error in socket I/O',
    11: 'error in file I/O',
    12: 'error in rsync protocol data stream (the connection broke)',
    20: 'killed by a signal',
    23: 'partial transfer: some files could not be transferred',
    24: 'some source files vanished during the transfer',
    30: 'timeout in data send/receive (the link stalled)',
    35: 'timeout waiting for daemon connection',
    255: 'the SSH connection failed',
  };
  return code === null ? 'killed' : (known[code] ?? `rsync exited with code ${code}`);
}
