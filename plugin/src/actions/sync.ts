import {
  defaultTarget,
  isForeignMethod,
  parseSpec,
  parseStatus,
  renderPvcRef,
  sourceTargets,
  specKeys,
  targetKey,
  type SourceSpec,
  type TargetSpec,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { renderObject } from '../output/format.ts';
import { syncProgress, type SyncProgress } from '../status/sync-progress.ts';
import { connect } from './connect.ts';

export interface SyncFlags extends KubeFlagValues {
  /** One target of a source with several destinations; all of them when absent. */
  target?: string | undefined;
  wait?: boolean;
  timeout?: string | undefined;
  output?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;

/** The targets `--target` names (all when absent), or an error that lists them. */
export function chooseTargets(
  spec: SourceSpec,
  name: string,
  target: string | undefined,
): TargetSpec[] {
  const all = sourceTargets(spec);
  if (target === undefined) return all;
  const t = all.find((x) => x.name === target);
  if (!t) {
    throw new CliError(
      `persistentvolumeclaim "${name}" has no target "${target}": its targets are ${all.map((x) => `${x.name} (${renderPvcRef(x.destination)})`).join(', ')}`,
    );
  }
  return [t];
}

export async function syncPvc(name: string, flags: SyncFlags): Promise<void> {
  const cluster = connect(flags);
  const ns = cluster.namespace;
  try {
    const pvc = await cluster.getPvc(ns, name);
    const parsed = parseSpec(pvc.metadata?.annotations);
    if (!parsed.enabled) {
      throw new CliError(
        `persistentvolumeclaim "${name}" in namespace "${ns}" is not replicated: protect it with kubectl scribe enable pvc ${name} --to CONTEXT`,
      );
    }
    if (parsed.spec?.role !== 'source') {
      throw new CliError(
        parsed.spec
          ? `persistentvolumeclaim "${name}" is a replication destination: sync its source, ${renderPvcRef(parsed.spec.source)}`
          : `persistentvolumeclaim "${name}" has invalid Scribe annotations; see kubectl scribe status pvc ${name}`,
      );
    }
    const targets = chooseTargets(parsed.spec, name, flags.target);
    const several = targets.length > 1;
    const says = (t: TargetSpec) =>
      several || t.name !== defaultTarget ? `target ${t.name}: ` : '';
    for (const t of targets.filter((x) => x.paused)) {
      process.stderr.write(
        `Warning: persistentvolumeclaim "${name}" is paused${several || t.name !== defaultTarget ? ` for target ${t.name}` : ''}: Scribe syncs it only once it is resumed\n`,
      );
    }
    if (isForeignMethod(parsed.spec)) {
      process.stderr.write(
        `Warning: method "${parsed.spec.method}" is not Scribe's: the trigger is set, but only your storage vendor's operator can act on it\n`,
      );
    }
    // RFC 3339 with seconds, as kubectl writes times; a new value each call.
    const requested = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await cluster.annotatePvc(
      ns,
      name,
      Object.fromEntries(
        targets.map((t) => [targetKey(specKeys.syncRequested, t.name), requested]),
      ),
    );
    if (!flags.wait) {
      for (const t of targets) {
        process.stdout.write(
          `persistentvolumeclaim/${name} sync requested${t.name === defaultTarget && !several ? '' : ` (target ${t.name})`}\n`,
        );
      }
      return;
    }
    const deadline = Date.now() + (parseRequestTimeout(flags.timeout ?? '30m') ?? Infinity);
    const tty = process.stderr.isTTY && !several;
    const last = new Map<string, string>();
    const progress = new Map<string, SyncProgress>();
    const sawRunning = new Set<string>();
    const finished = (p: SyncProgress | undefined) =>
      p?.phase === 'succeeded' || p?.phase === 'failed';
    for (;;) {
      const now = new Date();
      const current = await cluster.getPvc(ns, name);
      for (const t of targets) {
        if (finished(progress.get(t.name))) continue;
        const st = parseStatus(current.metadata?.annotations, t.name);
        const p = syncProgress(st, requested, now, sawRunning.has(t.name));
        if (p.phase === 'running' && st.lastSyncResult === 'Running') sawRunning.add(t.name);
        progress.set(t.name, p);
        const line = `${says(t)}${p.line}`;
        if (line !== last.get(t.name)) {
          process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
          last.set(t.name, line);
        }
      }
      if (targets.every((t) => finished(progress.get(t.name)))) break;
      if (Date.now() + pollMs > deadline) {
        if (tty) process.stderr.write('\n');
        throw new CliError(
          `gave up waiting after ${flags.timeout ?? '30m'}; the sync goes on: follow it with kubectl scribe status pvc ${name}`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    if (tty) process.stderr.write('\n');
    if (flags.output === 'json' || flags.output === 'yaml') {
      const current = await cluster.getPvc(ns, name);
      const statusOf = (t: TargetSpec) => parseStatus(current.metadata?.annotations, t.name);
      process.stdout.write(
        renderObject(
          several
            ? Object.fromEntries(targets.map((t) => [t.name, statusOf(t)]))
            : statusOf(targets[0]!),
          flags.output,
        ),
      );
    } else {
      for (const t of targets) {
        const p = progress.get(t.name)!;
        if (p.phase === 'succeeded') {
          process.stdout.write(`persistentvolumeclaim/${name} ${says(t)}${p.line}\n`);
        }
      }
    }
    const failed = targets.filter((t) => progress.get(t.name)?.phase === 'failed');
    if (failed.length) {
      throw new CliError(
        failed
          .map((t) => {
            const p = progress.get(t.name) as { error: string };
            return `the sync of persistentvolumeclaim "${name}"${several || t.name !== defaultTarget ? ` to target ${t.name}` : ''} failed: ${p.error}`;
          })
          .join('\nerror: '),
      );
    }
  } finally {
    cluster.close();
  }
}
