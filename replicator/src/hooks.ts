// Runs a source's quiesce hook around its point-in-time copy. Before the copy:
// record which containers are about to be quiesced (so a replicator that
// stops midway leaves a record its successor acts on), then run the quiesce
// command in each. Once the copy is cut, or the sync fails: run the
// unquiesce command in each and clear the record.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import {
  defaultQuiesceTimeoutSeconds,
  parseArgv,
  renderArgv,
  renderStatus,
  type Consistency,
  type QuiesceSpec,
  type ReplicationStatus,
} from '../../model/src/index.ts';
import type { Kube } from './kube.ts';
import {
  hookFailure,
  parseTargets,
  quiesceTargets,
  renderTargets,
  type HookOutcome,
  type HookTarget,
} from './quiesce.ts';
import type { Recorder } from './recorder.ts';

export interface HookContext {
  kube: Kube;
  recorder: Recorder;
  now: () => Date;
}

async function run(
  c: HookContext,
  namespace: string,
  t: HookTarget,
  command: string[],
  timeoutSeconds: number,
): Promise<HookOutcome> {
  return c.kube.exec(namespace, t.pod, t.container, command, timeoutSeconds * 1000);
}

const list = (xs: string[]): string => xs.join('; ');

/**
 * Quiesces the application before its copy is cut. Answers the copy's
 * consistency, or why the sync must fail (nothing is left quiesced then).
 */
export async function quiesce(
  c: HookContext,
  pvc: V1PersistentVolumeClaim,
  q: QuiesceSpec,
  /** The fan-out target whose copy this is: the record is in its status. */
  target: string,
): Promise<{ consistency: Consistency } | { error: string }> {
  const ns = pvc.metadata!.namespace!;
  const pods = await c.kube.list<V1Pod>('v1', 'Pod', ns);
  const { targets, problem } = quiesceTargets(pods, pvc.metadata!.name!, q.container);
  if (problem) return { error: problem };
  if (targets.length === 0) {
    await c.recorder.event(
      pvc,
      'Normal',
      'QuiesceSkipped',
      `no running pod mounts the claim${q.container ? ` in a container "${q.container}"` : ''}: the copy is crash-consistent`,
    );
    return { consistency: 'CrashConsistent' };
  }
  const at = c.now().toISOString();
  await c.kube.mergePatch(pvc, {
    metadata: {
      annotations: renderStatus(
        {
          quiescedAt: at,
          quiescedPods: renderTargets(targets),
          quiescedUndo: q.unquiesceCommand ? renderArgv(q.unquiesceCommand) : null,
          quiesceError: null,
        },
        target,
      ),
    },
  });
  const outcomes = await Promise.all(
    targets.map((t) =>
      run(c, ns, t, q.command, q.timeoutSeconds).catch((e: unknown): HookOutcome => ({
        kind: 'refused',
        message: (e as Error).message,
      })),
    ),
  );
  const failures = outcomes
    .map((o, i) => hookFailure('quiesce', targets[i]!, q.timeoutSeconds, o))
    .filter((f): f is string => f !== undefined);
  if (failures.length > 0) {
    // Undo what did run (a timed-out command may have half-quiesced, too).
    await unquiesce(
      c,
      pvc,
      q,
      {
        pods: renderTargets(targets),
        ...(q.unquiesceCommand ? { undo: renderArgv(q.unquiesceCommand) } : {}),
      },
      target,
    );
    await c.kube.mergePatch(pvc, {
      metadata: { annotations: renderStatus({ quiesceError: list(failures) }, target) },
    });
    await c.recorder.event(pvc, 'Warning', 'QuiesceFailed', list(failures));
    return { error: list(failures) };
  }
  await c.recorder.event(
    pvc,
    'Normal',
    'Quiesced',
    `quiesce command ran in ${targets.map((t) => `${t.pod}/${t.container}`).join(', ')}`,
  );
  return { consistency: 'ApplicationConsistent' };
}

/** What a quiesce left in the status: where it ran and the command that undoes it. */
export interface QuiesceRecord {
  pods: string;
  undo?: string;
}

/** The record from a claim's parsed status (undefined: nothing quiesced). Pure. */
export function quiesceRecord(s: ReplicationStatus): QuiesceRecord | undefined {
  if (!s.quiescedAt) return undefined;
  return { pods: s.quiescedPods ?? '', ...(s.quiescedUndo ? { undo: s.quiescedUndo } : {}) };
}

/**
 * Unquiesces the containers of the record that still run, with the command
 * recorded when they were quiesced (the hook may have been edited or removed
 * since), then clears the record. A command that fails or times out is
 * recorded and reported, not retried; an API server that cannot be reached
 * throws, and the record stays for the next pass.
 */
export async function unquiesce(
  c: HookContext,
  pvc: V1PersistentVolumeClaim,
  q: QuiesceSpec | undefined,
  recorded: QuiesceRecord,
  target: string,
): Promise<void> {
  const ns = pvc.metadata!.namespace!;
  const targets = parseTargets(recorded.pods);
  const failures: string[] = [];
  const parsed = recorded.undo !== undefined ? parseArgv(recorded.undo, '["…"]') : undefined;
  const undo = parsed?.ok ? parsed.value : undefined;
  const timeoutSeconds = q?.timeoutSeconds ?? defaultQuiesceTimeoutSeconds;
  if (undo && targets.length > 0) {
    const pods = await c.kube.list<V1Pod>('v1', 'Pod', ns);
    // A container that stopped since took its quiesced state with it.
    const still = targets.filter((t) =>
      pods.some(
        (p) =>
          p.metadata?.name === t.pod &&
          p.status?.containerStatuses?.some((s) => s.name === t.container && s.state?.running),
      ),
    );
    const outcomes = await Promise.all(still.map((t) => run(c, ns, t, undo, timeoutSeconds)));
    outcomes.forEach((o, i) => {
      const f = hookFailure('unquiesce', still[i]!, timeoutSeconds, o);
      if (f) failures.push(f);
    });
  }
  const fields: Parameters<typeof renderStatus>[0] = {
    quiescedAt: null,
    quiescedPods: null,
    quiescedUndo: null,
  };
  if (failures.length > 0) fields.quiesceError = list(failures);
  await c.kube.mergePatch(pvc, { metadata: { annotations: renderStatus(fields, target) } });
  if (failures.length > 0)
    await c.recorder.event(pvc, 'Warning', 'UnquiesceFailed', list(failures));
  else if (undo && targets.length > 0)
    await c.recorder.event(
      pvc,
      'Normal',
      'Unquiesced',
      `unquiesce command ran in ${targets.map((t) => `${t.pod}/${t.container}`).join(', ')}`,
    );
}
