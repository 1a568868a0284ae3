import { CliError } from '../errors.ts';
import type { KubeconfigOverrides, MergedKubeconfig, ResolvedConfig } from './types.ts';

/**
 * Picks one context from a merged kubeconfig and applies kubectl's overrides:
 * --context picks the context, --cluster and --user replace the context's,
 * -n replaces its namespace, which otherwise defaults to "default".
 */
export function resolveContext(
  merged: MergedKubeconfig,
  overrides: KubeconfigOverrides,
): ResolvedConfig {
  const where = describeFiles(merged.files);
  const contextName = overrides.context || merged.currentContext;
  let context = {};
  if (contextName) {
    const found = merged.contexts.find((c) => c.name === contextName);
    if (!found) {
      const known = merged.contexts.map((c) => c.name);
      throw new CliError(
        `context "${contextName}" not found in ${where}` +
          (known.length
            ? `; the contexts there are: ${known.join(', ')} (kubectl config get-contexts)`
            : '; it defines no contexts'),
      );
    }
    context = found.value;
  } else if (!overrides.cluster) {
    const empty = merged.contexts.length === 0 && merged.clusters.length === 0;
    throw new CliError(
      merged.files.length && !empty
        ? `no context is selected in ${where}: pass --context, or run kubectl config use-context NAME`
        : `no configuration has been provided${merged.files.length ? ` (${where} is empty)` : ''}: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config`,
    );
  }
  const ctx = context as { cluster?: string; user?: string; namespace?: string };

  const clusterName = overrides.cluster || ctx.cluster || '';
  const cluster = merged.clusters.find((c) => c.name === clusterName)?.value;
  if (!cluster || !cluster.server) {
    throw new CliError(
      `no server found for cluster "${clusterName}"` +
        (contextName ? ` (context "${contextName}")` : '') +
        ` in ${where}`,
    );
  }

  const userName = overrides.user || ctx.user || '';
  let user = {};
  if (userName) {
    const found = merged.users.find((u) => u.name === userName);
    if (!found) throw new CliError(`auth info "${userName}" does not exist in ${where}`);
    user = found.value;
  }

  return {
    contextName: contextName || '',
    clusterName,
    userName,
    cluster: { ...cluster, server: cluster.server },
    user,
    namespace: overrides.namespace || ctx.namespace || 'default',
    namespaceExplicit: Boolean(overrides.namespace),
    inCluster: false,
  };
}

function describeFiles(files: string[]): string {
  if (files.length === 0) return 'the kubeconfig';
  if (files.length === 1) return `kubeconfig ${files[0]}`;
  return `kubeconfig files ${files.join(':')}`;
}

/** kubectl's --request-timeout: "0" (none), an integer of seconds, or 1s | 2m | 3h. */
export function parseRequestTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    throw new CliError(
      `invalid --request-timeout "${value}": use a single integer in seconds, or an integer followed by a unit (e.g. 1s | 2m | 3h)`,
    );
  }
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] ?? 1000;
  const total = n * ms;
  return total > 0 ? total : undefined;
}
