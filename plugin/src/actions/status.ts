import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { renderObject } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import { parseSpec } from '../../../model/src/index.ts';
import { replicationRows, statusColumns, type ReplicationRow } from '../status/rows.ts';
import { connect } from './connect.ts';

export interface StatusFlags extends KubeFlagValues {
  'all-namespaces'?: boolean;
  output?: string | undefined;
}

/**
 * One object per PVC: its whole spec, and for a source one entry per target
 * with that target's state and status. `state` and `status` at the top are the
 * default target's, as before fan-out.
 */
function asObject(pvc: V1PersistentVolumeClaim, rows: ReplicationRow[]) {
  const first = rows[0]!;
  const spec = parseSpec(pvc.metadata?.annotations).spec;
  return {
    metadata: { name: first.name, namespace: first.namespace },
    state: first.state,
    spec,
    status: first.status,
    ...(first.target !== undefined
      ? {
          targets: rows.map((r) => ({
            name: r.target,
            state: r.state,
            spec: r.spec,
            status: r.status,
          })),
        }
      : {}),
    ...(first.problems ? { problems: first.problems } : {}),
  };
}

export async function status(name: string | undefined, flags: StatusFlags): Promise<void> {
  const cluster = connect(flags);
  try {
    const all = Boolean(flags['all-namespaces']) && !name;
    let pvcs: V1PersistentVolumeClaim[];
    if (name) {
      pvcs = [await cluster.getPvc(cluster.namespace, name)];
    } else {
      pvcs = (await cluster.listPvcs(all ? undefined : cluster.namespace)).items ?? [];
    }
    const perPvc = pvcs
      .map((p) => ({ pvc: p, rows: replicationRows(p) }))
      .filter((x) => x.rows.length > 0);
    const rows = perPvc.flatMap((x) => x.rows);
    if (name && rows.length === 0) {
      throw new CliError(
        `persistentvolumeclaim "${name}" in namespace "${cluster.namespace}" is not replicated: ` +
          `protect it with kubectl scribe enable pvc ${name} --to CONTEXT`,
      );
    }
    const out = flags.output;
    if (out === 'json' || out === 'yaml') {
      const objects = perPvc.map((x) => asObject(x.pvc, x.rows));
      const body =
        name && objects[0] ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
      process.stdout.write(renderObject(body, out));
      return;
    }
    if (rows.length === 0) {
      process.stderr.write(
        all
          ? 'No replicated PVCs found.\n'
          : `No replicated PVCs found in ${cluster.namespace} namespace.\n`,
      );
      return;
    }
    // Stable: a PVC's targets stay in their order (the default first).
    rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    process.stdout.write(renderTable(rows, statusColumns(new Date(), all), out === 'wide'));
  } finally {
    cluster.close();
  }
}
