// Tables as kubectl get prints them: uppercase headers, columns padded to the
// widest cell plus three spaces, <none> for an empty cell, no trailing spaces.

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | undefined;
  /** Shown only with -o wide. */
  wide?: boolean;
}

export function renderTable<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  wide = false,
): string {
  const cols = columns.filter((c) => wide || !c.wide);
  const cells = rows.map((r) =>
    cols.map((c) => {
      const v = c.value(r);
      return v === undefined || v === '' ? '<none>' : v;
    }),
  );
  const header = cols.map((c) => c.header.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/**
 * A duration the way kubectl prints ages: 45s, 5m, 5m30s (under 10m), 3h,
 * 3h20m (under 8h), 2d, 2d5h (under 8d), 400d, 2y45d, 10y.
 */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** Age of a timestamp relative to now; undefined stays undefined (<none>). */
export function age(time: string | Date | undefined, now: Date): string | undefined {
  if (time === undefined) return undefined;
  const t = time instanceof Date ? time.getTime() : Date.parse(time);
  if (Number.isNaN(t)) return undefined;
  return humanDuration(now.getTime() - t);
}

/** Bytes in binary units, as kubectl shows quantities: 512B, 1.5Ki, 20Mi, 3.2Gi. */
export function humanBytes(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10}${units[i]}`;
}
