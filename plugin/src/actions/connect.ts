// From kubectl's flags to a connection, for the source and for a destination
// context named in the same kubeconfig.
import type { KubeFlagValues } from '../cli/flags.ts';
import { loadConfig } from '../kubeconfig/load.ts';
import { parseRequestTimeout } from '../kubeconfig/resolve.ts';
import { Cluster } from '../kube/cluster.ts';
import { KubeRest } from '../kube/rest.ts';

export function connect(flags: KubeFlagValues): Cluster {
  const timeoutMs = parseRequestTimeout(flags['request-timeout']);
  const { resolved } = loadConfig({
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    cluster: flags.cluster,
    user: flags.user,
    namespace: flags.namespace,
  });
  return new Cluster(new KubeRest(resolved, { timeoutMs }));
}

/** Another context of the same kubeconfig (--cluster and --user apply to the source only). */
export function connectContext(flags: KubeFlagValues, context: string): Cluster {
  const { resolved } = loadConfig({ kubeconfig: flags.kubeconfig, context });
  return new Cluster(
    new KubeRest(resolved, { timeoutMs: parseRequestTimeout(flags['request-timeout']) }),
  );
}
