// Where a requested sync stands, from the status annotations alone. Pure.
import type { ReplicationStatus } from '../../../model/src/index.ts';
import { humanBytes, humanDuration } from '../output/table.ts';

export type SyncProgress =
  | { phase: 'waiting'; line: string }
  | { phase: 'running'; line: string }
  | { phase: 'succeeded'; line: string }
  | { phase: 'failed'; line: string; error: string };

/**
 * The server marks a trigger handled (sync-handled = the trigger's value) when
 * it starts that sync; until then the status shown is an older sync's. A
 * finished result counts only once this sync was seen running or started
 * after the request, so an older sync's result is never taken for this one.
 */
export function syncProgress(
  s: ReplicationStatus,
  requested: string,
  now: Date,
  sawRunning = false,
): SyncProgress {
  const handled = s.syncHandled !== undefined && Date.parse(s.syncHandled) >= Date.parse(requested);
  if (!handled) {
    const ms = now.getTime() - Date.parse(requested);
    const hint = ms >= 30_000 ? "; is Scribe's server running in this cluster?" : '';
    return {
      phase: 'waiting',
      line: `waiting for Scribe to start the sync (${humanDuration(ms)}${hint})`,
    };
  }
  const moved = [
    s.lastSyncBytes !== undefined ? humanBytes(s.lastSyncBytes) : undefined,
    s.lastSyncFiles !== undefined ? `${s.lastSyncFiles} files` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const ours =
    sawRunning ||
    (s.lastSyncStart !== undefined && Date.parse(s.lastSyncStart) >= Date.parse(requested));
  if (!ours && s.lastSyncResult !== 'Running') {
    return { phase: 'running', line: 'sync starting' };
  }
  if (s.lastSyncResult === 'Succeeded') {
    const took = s.lastSyncDuration !== undefined ? ` in ${s.lastSyncDuration}s` : '';
    return { phase: 'succeeded', line: `synced${took}${moved ? `: ${moved}` : ''}` };
  }
  if (s.lastSyncResult === 'Failed') {
    const error = s.lastSyncError ?? 'no error recorded';
    return { phase: 'failed', line: `sync failed: ${error}`, error };
  }
  const since = s.lastSyncStart ? humanDuration(now.getTime() - Date.parse(s.lastSyncStart)) : '0s';
  return { phase: 'running', line: `syncing for ${since}${moved ? ` (${moved} so far)` : ''}` };
}
