// Kubernetes resource quantities (storage sizes) as bytes.

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** "1Gi" → 1073741824; "500M" → 5e8; "1e3" → 1000. Fractions round up to whole bytes. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return Math.ceil(q);
  const m =
    /^([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[kMGTPE]|[eE][+-]?[0-9]+)?$/.exec(
      q.trim(),
    );
  if (m === null)
    throw new Error(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${q}"`,
    );
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const factor = binary[suffix] ?? decimal[suffix] ?? 10 ** Number(suffix.slice(1));
  return Math.ceil(n * factor);
}

/** Bytes as the shortest exact binary quantity ("1Gi", "1536Mi", "100"). */
export function formatBytes(bytes: number): string {
  for (const [suffix, f] of Object.entries(binary).reverse()) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}
