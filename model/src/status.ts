// The replication status that the in-cluster server writes back on the PVC.
// A user who writes a malformed status value is told so by the webhook.
import { statusKeys, statusPrefix } from './keys.ts';
import { defaultTarget, splitTargetKey, targetKey, targetKeyProblem } from './targets.ts';
import type { Consistency } from './quiesce.ts';
import { parseCount, parseTime, type Parsed } from './values.ts';

export type SyncResult = 'Running' | 'Succeeded' | 'Failed';

export interface ReplicationStatus {
  lastSyncStart?: string;
  lastSyncEnd?: string;
  /** Seconds. */
  lastSyncDuration?: number;
  lastSyncResult?: SyncResult;
  lastSyncError?: string;
  lastSyncBytes?: number;
  lastSyncFiles?: number;
  nextSync?: string;
  latestSnapshot?: string;
  latestSnapshotTime?: string;
  missedIntervals?: number;
  syncHandled?: string;
  /** Syncs that completed; every `checksum-every`th is a full checksum pass. */
  syncCount?: number;
  /** Failed syncs since the last success; drives the retry backoff. */
  consecutiveFailures?: number;
  /** The history snapshot whose data the read-only copy holds (scrubbed when a scrub step is set). */
  readOnlyCopySnapshot?: string;
  readOnlyCopySnapshotTime?: string;
  /** When the read-only copy was last (re)created. */
  readOnlyCopyRefreshed?: string;
  /** A newer snapshot ready to replace the copy once no pod mounts it. */
  readOnlyCopyPending?: string;
  /** Why the read-only copy cannot be made (e.g. its name is taken). */
  readOnlyCopyError?: string;
  scrubResult?: SyncResult;
  /** The history snapshot the last scrub step ran on. */
  scrubSnapshot?: string;
  scrubError?: string;
  lastSyncConsistency?: Consistency;
  /** Set while the application's pods are quiesced (a restarted replicator unquiesces them). */
  quiescedAt?: string;
  /** The pods and containers quiesced, `POD/CONTAINER` comma-separated. */
  quiescedPods?: string;
  /** The unquiesce argv (JSON) to run, recorded with the quiesce: editing the hook meanwhile changes nothing. */
  quiescedUndo?: string;
  quiesceError?: string;
}

type Field = keyof ReplicationStatus;

const parseResult = (v: string): Parsed<SyncResult> =>
  v === 'Running' || v === 'Succeeded' || v === 'Failed'
    ? { ok: true, value: v }
    : { ok: false, message: `"${v}" is not a sync result: Running, Succeeded or Failed` };
const parseDuration = (v: string): Parsed<number> =>
  /^\d+(\.\d+)?s$/.test(v)
    ? { ok: true, value: Number(v.slice(0, -1)) }
    : { ok: false, message: `"${v}" is not a duration in seconds, e.g. "12.5s"` };
const parseConsistency = (v: string): Parsed<Consistency> =>
  v === 'ApplicationConsistent' || v === 'CrashConsistent'
    ? { ok: true, value: v }
    : {
        ok: false,
        message: `"${v}" is not a consistency: ApplicationConsistent or CrashConsistent`,
      };
const parseText = (v: string): Parsed<string> => ({ ok: true, value: v });
const parseBig = (v: string): Parsed<number> => parseCount(v, 0, Number.MAX_SAFE_INTEGER);

const fields: { [F in Field]: (v: string) => Parsed<NonNullable<ReplicationStatus[F]>> } = {
  lastSyncStart: parseTime,
  lastSyncEnd: parseTime,
  lastSyncDuration: parseDuration,
  lastSyncResult: parseResult,
  lastSyncError: parseText,
  lastSyncBytes: parseBig,
  lastSyncFiles: parseBig,
  nextSync: parseTime,
  latestSnapshot: parseText,
  latestSnapshotTime: parseTime,
  missedIntervals: parseBig,
  syncHandled: parseTime,
  syncCount: parseBig,
  consecutiveFailures: parseBig,
  readOnlyCopySnapshot: parseText,
  readOnlyCopySnapshotTime: parseTime,
  readOnlyCopyRefreshed: parseTime,
  readOnlyCopyPending: parseText,
  readOnlyCopyError: parseText,
  scrubResult: parseResult,
  scrubSnapshot: parseText,
  scrubError: parseText,
  lastSyncConsistency: parseConsistency,
  quiescedAt: parseTime,
  quiescedPods: parseText,
  quiescedUndo: parseText,
  quiesceError: parseText,
};

const fieldNames = Object.keys(fields) as Field[];

/** Reads one target's status annotations (the default's unsuffixed); malformed values are left out. */
export function parseStatus(
  annotations: Record<string, string> | undefined,
  target: string = defaultTarget,
): ReplicationStatus {
  const out: Record<string, unknown> = {};
  for (const f of fieldNames) {
    const v = annotations?.[targetKey(statusKeys[f], target)];
    if (v === undefined) continue;
    const r = fields[f](v);
    if (r.ok) out[f] = r.value;
  }
  return out as ReplicationStatus;
}

/** Problems with status annotations: unknown keys and malformed values. */
export function statusProblems(
  annotations: Record<string, string>,
): { annotation: string; message: string }[] {
  const known = new Map(fieldNames.map((f) => [statusKeys[f] as string, f]));
  const problems: { annotation: string; message: string }[] = [];
  for (const [k, v] of Object.entries(annotations)) {
    if (!k.startsWith(statusPrefix)) continue;
    const split = known.has(k) ? undefined : splitTargetKey(k);
    const f = known.get(split ? split.base : k);
    if (f && split) {
      const why = targetKeyProblem(k, split.target);
      if (why) {
        problems.push({ annotation: k, message: why });
        continue;
      }
    }
    if (!f) {
      problems.push({
        annotation: k,
        message: `unknown Scribe status annotation; valid keys are ${[...known.keys()].join(', ')}, each optionally suffixed with .TARGET`,
      });
      continue;
    }
    const r = fields[f](v);
    if (!r.ok) problems.push({ annotation: k, message: r.message });
  }
  return problems;
}

/** Annotations for one target's status update; `null` removes a key (merge patch). */
export function renderStatus(
  s: { [F in Field]?: ReplicationStatus[F] | null },
  target: string = defaultTarget,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const f of fieldNames) {
    if (!(f in s)) continue;
    const v = s[f];
    out[targetKey(statusKeys[f], target)] =
      v === null || v === undefined ? null : f === 'lastSyncDuration' ? `${v}s` : String(v);
  }
  return out;
}
