import { createInterface } from 'node:readline/promises';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { deleteObject, getObject, listLabelled } from '../install/api.ts';
import {
  clusterKinds,
  partOfScribe,
  refusal,
  removalOrder,
  replicatedClaims,
} from '../install/removal.ts';
import { displayName, scribeNamespace, type ManifestObject } from '../install/resources.ts';
import { connect } from './connect.ts';
import { waitTimeoutMs } from './install.ts';

export interface UninstallFlags extends KubeFlagValues {
  force?: boolean;
  yes?: boolean;
  'dry-run'?: boolean;
  'wait-timeout'?: string | undefined;
}

const pollMs = Number(process.env.SCRIBE_POLL_MS) || 1000;

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export async function uninstall(flags: UninstallFlags): Promise<void> {
  const cluster = connect(flags);
  const rest = cluster.rest;
  const dryRun = Boolean(flags['dry-run']);
  try {
    const claims = replicatedClaims((await cluster.listPvcs(undefined)).items ?? []);
    if (claims.length && !flags.force) {
      const { table, message } = refusal(claims, cluster.context);
      process.stderr.write(table);
      throw new CliError(message);
    }

    const found: ManifestObject[] = [];
    const ns = await getObject(rest, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: scribeNamespace },
    });
    if (ns) found.push({ ...ns, apiVersion: 'v1', kind: 'Namespace' });
    for (const k of clusterKinds) found.push(...(await listLabelled(rest, k, partOfScribe)));
    if (found.length === 0) {
      process.stdout.write(
        `Scribe is not installed in context "${cluster.context}": nothing to remove\n`,
      );
      return;
    }
    const ordered = removalOrder(found);
    if (!flags.yes && !dryRun) {
      const list = ordered.map((o) => `  ${displayName(o)}`).join('\n');
      process.stderr.write(
        `This deletes, in context "${cluster.context}":\n${list}\nand everything in namespace ${scribeNamespace}.\n`,
      );
      if (!process.stdin.isTTY) {
        throw new CliError('no terminal to ask for confirmation on: pass --yes to delete these');
      }
      if (!(await confirm('Remove Scribe? [y/N] ')))
        throw new CliError('uninstall cancelled; nothing was deleted');
    }
    if (claims.length) {
      process.stderr.write(
        `Warning: --force: ${claims.length} replicated PVC${claims.length === 1 ? '' : 's'} keep${claims.length === 1 ? 's' : ''} Scribe's annotations; nothing will act on them\n`,
      );
    }
    for (const o of ordered) {
      const did = await deleteObject(rest, o, dryRun);
      if (did)
        process.stdout.write(`${displayName(o)} deleted${dryRun ? ' (server dry run)' : ''}\n`);
    }
    if (dryRun || !ns) return;
    // As kubectl delete does: return once the namespace (and all in it) is gone.
    const deadline = Date.now() + waitTimeoutMs(flags['wait-timeout']);
    process.stderr.write(`Waiting for namespace ${scribeNamespace} to be removed...\n`);
    while (
      await getObject(rest, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: scribeNamespace },
      })
    ) {
      if (Date.now() + pollMs > deadline) {
        throw new CliError(
          `namespace ${scribeNamespace} is still terminating after ${flags['wait-timeout'] ?? '5m'}: see what holds it with kubectl get namespace ${scribeNamespace} -o yaml --context ${cluster.context}`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    cluster.close();
  }
}
