// What `kubectl scribe` offers, as plain data: the root help, the command
// classes' summaries and shell completion all read it, and reading it loads
// nothing (no oclif, no Kubernetes client).

export interface CatalogEntry {
  /** oclif's command id (topic:command). */
  id: string;
  /** The synopsis after "kubectl scribe". */
  usage: string;
  summary: string;
}

export const catalog: readonly CatalogEntry[] = [
  {
    id: 'enable:pvc',
    usage: 'enable pvc NAME --to CONTEXT[/NAMESPACE[/PVC]]...',
    summary:
      'Protect a PVC: replicate it to a PVC in another cluster or namespace (--to again for more).',
  },
  {
    id: 'status',
    usage: 'status [pvc NAME]',
    summary:
      'Show replicated PVCs, a row per destination: method, schedule, last sync, lag, result.',
  },
  {
    id: 'sync:pvc',
    usage: 'sync pvc NAME [--target T] [--wait]',
    summary: 'Sync a replicated PVC now.',
  },
  {
    id: 'disable:pvc',
    usage: 'disable pvc NAME [--target T] [--delete-destination]',
    summary: "Stop replicating a PVC: remove Scribe's annotations, Secrets and endpoint.",
  },
  {
    id: 'failover:pvc',
    usage: 'failover pvc NAME --context DR',
    summary:
      "Make a replica the application's PVC at the DR site, from its newest complete snapshot.",
  },
  {
    id: 'reverse:pvc',
    usage: 'reverse pvc NAME --context DR',
    summary:
      "After a failover, replicate back into the primary's old PVC; at the primary, fail back.",
  },
  {
    id: 'migrate:pvc',
    usage: 'migrate pvc NAME --to CONTEXT [--cutover]',
    summary:
      'Move a PVC to other storage or another cluster: sync in the background, then cut over briefly.',
  },
  {
    id: 'install',
    usage: 'install [--dry-run]',
    summary: "Install or upgrade Scribe's webhook and replicator in a cluster.",
  },
  {
    id: 'uninstall',
    usage: 'uninstall [--force] [--yes]',
    summary: 'Remove Scribe from a cluster (refused while PVCs are replicated).',
  },
  {
    id: 'doctor',
    usage: 'doctor',
    summary: 'Check a cluster for Scribe and say what to fix.',
  },
  { id: 'version', usage: 'version', summary: "Print the plugin's version." },
];

export const topics: Readonly<Record<string, { description: string }>> = {
  enable: { description: 'Protect a resource by replicating it.' },
  disable: { description: 'Stop replicating a resource.' },
  sync: { description: 'Sync a replicated resource now.' },
  failover: { description: "Make a replica the application's, at the DR site." },
  reverse: { description: 'Replicate in the other direction after a failover.' },
  migrate: { description: 'Move a resource to other storage or another cluster.' },
};

export function summaryOf(id: string): string {
  const e = catalog.find((c) => c.id === id);
  if (!e) throw new Error(`no catalog entry for command ${id}`);
  return e.summary;
}

/** The root help, laid out like kubectl's own. */
export function renderRootHelp(): string {
  const width = Math.max(...catalog.map((c) => c.usage.length));
  const lines = catalog.map((c) => `  ${c.usage.padEnd(width)}   ${c.summary}`);
  return [
    "kubectl scribe replicates PVC data to another cluster or namespace, asynchronously, with rsync's delta transfer.",
    '',
    'Commands:',
    ...lines,
    '',
    'Flags every cluster command takes, as kubectl does:',
    '  --kubeconfig --context --cluster --user -n/--namespace --request-timeout',
    '',
    'Usage:',
    '  kubectl scribe COMMAND [flags]',
    '',
    'Use "kubectl scribe COMMAND --help" for more information about a command.',
    '',
  ].join('\n');
}
