import {
  isForeignMethod,
  parseSpec,
  parseStatus,
  renderPvcRef,
  specKeys,
} from '../../../model/src/index.ts';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { renderObject } from '../output/format.ts';
import { syncProgress, type SyncProgress } from '../status/sync-progress.ts';
import { connect } from './connect.ts';

export interface SyncFlags extends KubeFlagValues {
  wait?: boolean;
  timeout?: string | undefined;
  output?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;

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
    if (parsed.spec.paused) {
      process.stderr.write(
        `Warning: persistentvolumeclaim "${name}" is paused: Scribe syncs it only once it is resumed\n`,
      );
    }
    if (isForeignMethod(parsed.spec)) {
      process.stderr.write(
        `Warning: method "${parsed.spec.method}" is not Scribe's: the trigger is set, but only your storage vendor's operator can act on it\n`,
      );
    }
    // RFC 3339 with seconds, as kubectl writes times; a new value each call.
    const requested = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await cluster.annotatePvc(ns, name, { [specKeys.syncRequested]: requested });
    if (!flags.wait) {
      process.stdout.write(`persistentvolumeclaim/${name} sync requested\n`);
      return;
    }
    const deadline = Date.now() + (parseRequestTimeout(flags.timeout ?? '30m') ?? Infinity);
    const tty = process.stderr.isTTY;
    let last = '';
    let p: SyncProgress;
    let sawRunning = false;
    for (;;) {
      const now = new Date();
      const current = await cluster.getPvc(ns, name);
      const st = parseStatus(current.metadata?.annotations);
      p = syncProgress(st, requested, now, sawRunning);
      if (p.phase === 'running' && st.lastSyncResult === 'Running') sawRunning = true;
      if (p.line !== last) {
        process.stderr.write(tty ? `\r\x1b[2K${p.line}` : `${p.line}\n`);
        last = p.line;
      }
      if (p.phase === 'succeeded' || p.phase === 'failed') break;
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
      process.stdout.write(renderObject(parseStatus(current.metadata?.annotations), flags.output));
    } else if (p.phase === 'succeeded') {
      process.stdout.write(`persistentvolumeclaim/${name} ${p.line}\n`);
    }
    if (p.phase === 'failed') {
      throw new CliError(`the sync of persistentvolumeclaim "${name}" failed: ${p.error}`);
    }
  } finally {
    cluster.close();
  }
}
