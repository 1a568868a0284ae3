import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeFlagValues } from '../cli/flags.ts';
import { CliError } from '../errors.ts';
import { renderObject } from '../output/format.ts';
import { renderTable } from '../output/table.ts';
import { replicationRow, statusColumns, type ReplicationRow } from '../status/rows.ts';
import { connect } from './connect.ts';

export interface StatusFlags extends KubeFlagValues {
  'all-namespaces'?: boolean;
  output?: string | undefined;
}

function asObject(r: ReplicationRow) {
  return {
    metadata: { name: r.name, namespace: r.namespace },
    state: r.state,
    spec: r.spec,
    status: r.status,
    ...(r.problems ? { problems: r.problems } : {}),
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
    const rows = pvcs.flatMap((p) => replicationRow(p) ?? []);
    if (name && rows.length === 0) {
      throw new CliError(
        `persistentvolumeclaim "${name}" in namespace "${cluster.namespace}" is not replicated: ` +
          `protect it with kubectl scribe enable pvc ${name} --to CONTEXT`,
      );
    }
    const out = flags.output;
    if (out === 'json' || out === 'yaml') {
      const body =
        name && rows[0]
          ? asObject(rows[0])
          : { apiVersion: 'v1', kind: 'List', items: rows.map(asObject) };
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
    rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    process.stdout.write(renderTable(rows, statusColumns(new Date(), all), out === 'wide'));
  } finally {
    cluster.close();
  }
}
