import { type ParsedSpec, isScribeKey, parseSpec } from '../../model/src/index.ts';
import { lruMemo } from './lru-memo.ts';

// parseSpec is pure but not cheap (a cron expression costs ~150 µs to check),
// and the same spec comes back on every write of a claim (status updates,
// labels, finalizers) and on every pod that mounts it. Results are kept by the
// Scribe annotations' content, a bounded number of them, least recently used
// first out. Callers must treat the result as read-only.

// Keys are the claims' Scribe annotations, written by whoever may write claims:
// a spec over 16 KiB is parsed every time rather than kept.
const memo = lruMemo<ParsedSpec>(2048, 16 * 1024);

function keyOf(annotations: Record<string, string> | undefined): string {
  const entries: [string, string][] = [];
  for (const k in annotations) if (isScribeKey(k)) entries.push([k, annotations[k]!]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(entries);
}

export function parseSpecMemo(annotations: Record<string, string> | undefined): ParsedSpec {
  const key = keyOf(annotations);
  // Only Scribe's keys decide the result; the key above is exactly them.
  return memo.get(key, () => parseSpec(Object.fromEntries(JSON.parse(key) as [string, string][])));
}
